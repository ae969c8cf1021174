package spectest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// exchange builds a request and a recorded response for Check.
func exchange(method, target, reqBody string, status int, header http.Header, respBody string) (*http.Request, []byte, *http.Response, []byte) {
	req := httptest.NewRequest(method, "http://127.0.0.1:1"+target, strings.NewReader(reqBody))
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp := &http.Response{StatusCode: status, Header: header}
	var rb []byte
	if reqBody != "" {
		rb = []byte(reqBody)
	}
	return req, rb, resp, []byte(respBody)
}

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r-1"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// TestCheck: documented exchanges pass; an undocumented endpoint, status,
// header or body field, or an accepted request the document forbids, fails.
func TestCheck(t *testing.T) {
	t.Parallel()
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	const ev = `{"topic":"a","data":{"x":1}}`
	const ok = `{"id":"1-0","topic":"a","receivers":1}`
	errHdr := func(kv ...string) http.Header {
		return jsonHeader(append([]string{"Cache-Control", "no-store"}, kv...)...)
	}
	cases := []struct {
		name, method, path, reqBody string
		status                      int
		header                      http.Header
		respBody                    string
		wantErr                     string // "" = passes
	}{
		{"publish accepted", "POST", "/v1/events", ev, 202, jsonHeader(), ok, ""},
		{"publish replayed", "POST", "/v1/events", ev, 200, jsonHeader("Idempotent-Replayed", "true"), ok, ""},
		{"replay without its header", "POST", "/v1/events", ev, 200, jsonHeader(), ok, "Idempotent-Replayed"},
		{"extra body field", "POST", "/v1/events", ev, 202, jsonHeader(), `{"id":"1-0","topic":"a","receivers":1,"extra":true}`, "extra"},
		{"undocumented header", "POST", "/v1/events", ev, 202, jsonHeader("X-Secret", "1"), ok, "X-Secret"},
		{"undocumented status", "POST", "/v1/events", ev, 201, jsonHeader(), ok, "status not documented"},
		{"undocumented endpoint", "GET", "/v2/things", "", 200, jsonHeader(), `{}`, "undocumented endpoint"},
		{"unknown route refused", "GET", "/v2/things", "", 404, errHdr(), `{"error":{"code":"not_found","message":"Not Found"}}`, ""},
		{"bad request refused", "POST", "/v1/events", `{"data":1}`, 400, errHdr(), `{"error":{"code":"missing_field","message":"m"}}`, ""},
		{"bad request accepted", "POST", "/v1/events", `{"data":1}`, 202, jsonHeader(), ok, "does not conform"},
		{"error code of another status", "POST", "/v1/events", ev, 400, errHdr(), `{"error":{"code":"redis_unavailable","message":"m"}}`, "code"},
		{"503 without Retry-After", "POST", "/v1/events", ev, 503, errHdr(), `{"error":{"code":"redis_unavailable","message":"m"}}`, "Retry-After"},
		{"503 with Retry-After", "POST", "/v1/events", ev, 503, errHdr("Retry-After", "2"), `{"error":{"code":"redis_unavailable","message":"m"}}`, ""},
		{"keyed publish", "POST", "/v1/events", `{"topic":"a","key":"k","delete":true,"data":{}}`, 202, jsonHeader(), ok, ""},
		{"invalid key refused", "POST", "/v1/events", `{"topic":"a","key":"","data":1}`, 400, errHdr(), `{"error":{"code":"invalid_key","message":"m"}}`, ""},
		{"state", "GET", "/api/state?topic=a&access_token=t", "", 200, errHdr(), `{"topic":"a","position":"5-0","entries":[{"id":"5-0","key":"k","event":"message","data":"{}"}],"count":1}`, ""},
		{"state extra field", "GET", "/api/state?topic=a", "", 200, errHdr(), `{"topic":"a","position":"0-0","entries":[],"count":0,"keys":0}`, "keys"},
		{"state refused", "GET", "/api/state?topic=a", "", 429, errHdr("Retry-After", "1"), `{"error":{"code":"too_many_connections_from_ip","message":"m"}}`, ""},
		{"stream", "GET", "/api/sse/stream?topic=a&topic=b", "", 200, http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}, "X-Accel-Buffering": {"no"}}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, rb, resp, body := exchange(c.method, c.path, c.reqBody, c.status, c.header, c.respBody)
			err := v.Check(req, rb, resp, body)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("want pass, got %v", err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("want an error naming %q, got none", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Fatalf("want an error naming %q, got %v", c.wantErr, err)
			}
		})
	}
}
