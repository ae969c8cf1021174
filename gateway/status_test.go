package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/apispec/spectest"
	"github.com/ssegate/ssegate/internal/status"
	"github.com/ssegate/ssegate/test/harness"
)

// statusToken is the status page token of these tests.
const statusToken = "status-token-of-the-tests-0123456789"

// holdStream opens a stream on topics that stays open until the test ends.
func holdStream(t *testing.T, g *harness.Gateway, topics string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, streamURL(g, "topic="+strings.ReplaceAll(topics, ",", "&topic=")), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("open stream on %s: %v %v", topics, resp, err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		client.CloseIdleConnections()
	})
}

// getStatus GETs url with the bearer token (none when token is "") and
// returns the status code and body.
func getStatus(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitReport polls /status.json until ok accepts a report, for 10 s at most.
func waitReport(t *testing.T, url string, ok func(status.Report) bool) status.Report {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := getStatus(t, url, statusToken)
		var rep status.Report
		if code == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if ok(rep) {
				return rep
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never as wanted; last %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond) // polling the page, bounded by the deadline
	}
}

// TestStatusJSONCounts: the report counts this process's streams and each
// topic's subscribers, events, rate and position, with the broker state.
func TestStatusJSONCounts(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Status: gateway.StatusConfig{Token: statusToken, Version: "v-test"}})
	for range 3 {
		holdStream(t, g, "alpha")
	}
	holdStream(t, g, "alpha,beta")
	holdStream(t, g, "beta")
	url := g.URL + status.JSONPath
	waitReport(t, url, func(r status.Report) bool { return r.Connections == 5 && len(r.Topics) == 2 })
	var last string
	for i := range 4 {
		last = publish(t, g, "alpha", `{"n":`+string(rune('0'+i))+`}`)
	}
	rep := waitReport(t, url, func(r status.Report) bool {
		return len(r.Topics) == 2 && r.Topics[0].EventsTotal == 4 && r.Topics[0].RatePerSecond > 0
	})
	alpha, beta := rep.Topics[0], rep.Topics[1]
	if alpha.Topic != "alpha" || alpha.Subscribers != 4 || alpha.Position != last {
		t.Errorf("alpha = %+v, want 4 subscribers at %s", alpha, last)
	}
	if beta.Topic != "beta" || beta.Subscribers != 2 || beta.EventsTotal != 0 || beta.RatePerSecond != 0 {
		t.Errorf("beta = %+v, want 2 subscribers and no events", beta)
	}
	if rep.Service != "gateway" || rep.Version != "v-test" || rep.UptimeSeconds <= 0 || rep.StartedAt.IsZero() {
		t.Errorf("service %q version %q uptime %v started %v", rep.Service, rep.Version, rep.UptimeSeconds, rep.StartedAt)
	}
	b := rep.Broker
	if b.Kind != "memory" || !b.Healthy || len(b.Shards) != 1 || b.Shards[0].State != status.ShardUp || b.Shards[0].Topics != 2 {
		t.Errorf("broker = %+v, want the memory broker up with 2 topics", b)
	}
	if _, ok := rep.Evictions["queue_full"]; !ok {
		t.Errorf("evictions = %v, want every reason listed", rep.Evictions)
	}
	if _, ok := rep.Resets["trimmed"]; !ok {
		t.Errorf("resets = %v, want every reason listed", rep.Resets)
	}
	checkAgainstSpec(t, url+"?token="+statusToken)
}

// checkAgainstSpec GETs url and checks the exchange against the OpenAPI
// document.
func checkAgainstSpec(t *testing.T, url string) {
	t.Helper()
	v, err := spectest.New()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := v.Check(req, nil, resp, body); err != nil {
		t.Errorf("GET %s against the OpenAPI document: %v", url, err)
	}
}

// TestStatusHiddenWithoutToken: without the status token, with a wrong
// one, or with the page off, every status path answers exactly what an
// unknown path answers (404, the same body): the page's existence and its
// data do not show.
func TestStatusHiddenWithoutToken(t *testing.T) {
	t.Parallel()
	on := startGateway(t, gateway.ProgramConfig{Status: gateway.StatusConfig{Token: statusToken}})
	off := startGateway(t, gateway.ProgramConfig{})
	holdStream(t, on, "secret-topic-name")
	_, unknown := getStatus(t, on.URL+"/no-such-path", "")
	paths := []string{status.PagePath, status.JSONPath, status.StreamPath, status.PagePath + "/app.js", status.PagePath + "/style.css"}
	for _, tc := range []struct {
		name, base, token string
	}{
		{"no token", on.URL, ""},
		{"wrong token", on.URL, statusToken + "x"},
		{"token prefix", on.URL, statusToken[:20]},
		{"page off", off.URL, statusToken},
	} {
		for _, p := range paths {
			code, body := getStatus(t, tc.base+p, tc.token)
			if code != http.StatusNotFound || body != unknown {
				t.Errorf("%s: GET %s = %d %q, want 404 %q", tc.name, p, code, body, unknown)
			}
			if strings.Contains(body, "secret-topic-name") || strings.Contains(body, "connections") {
				t.Errorf("%s: GET %s leaks %q", tc.name, p, body)
			}
		}
	}
	// The query form of the token works, as the page's EventSource uses it.
	if code, body := getStatus(t, on.URL+status.JSONPath+"?token="+statusToken, ""); code != http.StatusOK || !strings.Contains(body, "secret-topic-name") {
		t.Errorf("GET ?token= = %d %.200q, want 200 with the topic", code, body)
	}
}

// TestStatusSeparateListener: with SSEGATE_STATUS_LISTEN the page is on its
// own listener only; the public one answers 404 even with the token.
func TestStatusSeparateListener(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Status: gateway.StatusConfig{Token: statusToken, Listen: "127.0.0.1:0"}})
	if code, _ := getStatus(t, g.URL+status.JSONPath, statusToken); code != http.StatusNotFound {
		t.Errorf("public listener: GET %s = %d, want 404", status.JSONPath, code)
	}
	base := "http://" + g.Program.StatusAddr().String()
	if code, _ := getStatus(t, base+status.JSONPath, ""); code != http.StatusNotFound {
		t.Errorf("status listener without token: %d, want 404", code)
	}
	waitReport(t, base+status.JSONPath, func(r status.Report) bool { return r.Service == "gateway" })
	code, body := getStatus(t, base+status.PagePath+"?token="+statusToken, "")
	if code != http.StatusOK || !strings.Contains(body, "status/app.js?token="+statusToken) {
		t.Errorf("GET %s = %d %.300q, want the page with its assets' token", status.PagePath, code, body)
	}
}

// TestStatusStreamPushesReports: /status/stream is an SSE stream whose
// "status" events carry the report.
func TestStatusStreamPushesReports(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Status: gateway.StatusConfig{Token: statusToken}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+status.StreamPath+"?token="+statusToken, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET %s = %d %q", status.StreamPath, resp.StatusCode, ct)
	}
	var got strings.Builder
	buf := make([]byte, 4096)
	for events := 0; events < 2; {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v", got.String(), err)
		}
		got.Write(buf[:n])
		events = strings.Count(got.String(), "event: status\ndata: {")
	}
	_, data, _ := strings.Cut(got.String(), "event: status\ndata: ")
	data, _, _ = strings.Cut(data, "\n")
	var rep status.Report
	if err := json.Unmarshal([]byte(data), &rep); err != nil || rep.Service != "gateway" {
		t.Fatalf("event data %q: %v (%+v)", data, err, rep)
	}
}
