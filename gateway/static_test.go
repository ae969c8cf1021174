package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/gateway"
)

// TestStaticRoutes: every asset the demo page loads is served with its own
// type; /static/ and /static/index.html send the browser to the page's own
// address (served there, its relative "static/…" URLs became
// /static/static/… and 404'd as text/plain); a missing asset is a JSON 404,
// never the page.
func TestStaticRoutes(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	for _, tc := range []struct {
		path, status, contentType, location string
	}{
		{"/", "200", "text/html", ""},
		{"/static/app.js", "200", "text/javascript", ""},
		{"/static/ssegate.js", "200", "text/javascript", ""},
		{"/static/ssegate.mjs", "200", "text/javascript", ""},
		{"/static/style.css", "200", "text/css", ""},
		{"/static/", "301", "", "../"},
		{"/static/index.html", "301", "", "../"},
		{"/static/static/app.js", "404", "application/json", ""},
		{"/static/nope.js", "404", "application/json", ""},
	} {
		resp, err := client.Get(g.URL + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if got := resp.Status[:3]; got != tc.status || !strings.HasPrefix(ct, tc.contentType) || resp.Header.Get("Location") != tc.location {
			t.Errorf("GET %s: %s %q Location %q, want %s %q Location %q", tc.path, resp.Status, ct, resp.Header.Get("Location"), tc.status, tc.contentType, tc.location)
		}
		if tc.status == "404" && (strings.Contains(string(body), "<html") || !strings.Contains(string(body), `"not_found"`)) {
			t.Errorf("GET %s: 404 body %.100q, want the JSON not_found error", tc.path, body)
		}
	}
	// Following the redirect lands on the page.
	resp, err := http.Get(g.URL + "/static/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("GET /static/ followed: %d at %s, want 200 at /", resp.StatusCode, resp.Request.URL.Path)
	}
}
