package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/test/harness"
)

// refusalSecret signs the subscriber tokens of TestRefusalsCountedByCode.
const refusalSecret = "refusals-test-secret-of-at-least-32-bytes"

// refusalCase is one request of TestRefusalsCountedByCode.
type refusalCase struct {
	name    string
	method  string
	path    string            // with query; the stream route when empty
	header  map[string]string // "Host" sets the request's Host
	status  int
	code    string // the answer's error code
	counted bool   // a refused stream: counted under code
}

// refusalCases cover every way a stream request is refused that needs no
// open stream, and refusals that are not of a stream request.
func refusalCases(t *testing.T) []refusalCase {
	tok := func(patterns ...string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"exp": time.Now().Add(time.Hour).Unix(), auth.SubscribeClaim: patterns,
		}).SignedString([]byte(refusalSecret))
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		return s
	}
	stream := "/api/sse/stream?access_token=" + tok("news") + "&"
	return []refusalCase{
		{"malformed query", "GET", stream + "topic=a;b", nil, 400, "invalid_query", true},
		{"unknown parameter", "GET", stream + "foo=1", nil, 400, "unknown_parameter", true},
		{"bad topic", "GET", stream + "topic=a%20b", nil, 400, "invalid_topic", true},
		{"reserved topic", "GET", stream + "topic=__keyspace@0__:x", nil, 400, "reserved_topic", true},
		{"foreign origin", "GET", stream + "topic=news", map[string]string{"Origin": "https://evil.example"}, 403, "origin_not_allowed", true},
		{"foreign host", "GET", stream + "topic=news", map[string]string{"Host": "evil.example"}, 421, "host_not_allowed", true},
		{"huge headers", "GET", stream + "topic=news", map[string]string{"X-Big": strings.Repeat("x", 17<<10)}, 431, "headers_too_large", true},
		{"no token", "GET", "/api/sse/stream?topic=news", nil, 401, "missing_token", true},
		{"bad token", "GET", "/api/sse/stream?topic=news&access_token=not.a.jwt", nil, 401, "invalid_token", true},
		{"topic not granted", "GET", "/api/sse/stream?topic=news&access_token=" + tok("other"), nil, 403, "forbidden_topic", true},
		// Not a refused stream: another method, a preflight, another route.
		{"POST on the stream route", "POST", stream + "topic=news", nil, 405, "method_not_allowed", false},
		{"preflight from a foreign origin", "OPTIONS", stream + "topic=news",
			map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, 403, "origin_not_allowed", false},
		{"demo page on a foreign host", "GET", "/", map[string]string{"Host": "evil.example"}, 421, "host_not_allowed", false},
		{"invalid publish", "POST", "/v1/events", map[string]string{"Content-Type": "application/json"}, 400, "invalid_json", false},
	}
}

// TestRefusalsCountedByCode: each refused stream request is counted once,
// under the error code of its answer, by the one error handler; refusals
// on other routes or methods are not, and the embedded publisher counts
// its own validation failures on the same handler.
func TestRefusalsCountedByCode(t *testing.T) {
	t.Parallel()
	v, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte(refusalSecret)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := auth.NewSubscriber(auth.SubscriberConfig{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{
		Auth: sub, AllowedHosts: []string{"127.0.0.1"}, CORSOrigins: []string{"https://app.example"},
	}})
	cases := refusalCases(t)
	counted := 0
	for _, tc := range cases {
		before := harness.Metric(t, g.Registry, "ssegate_gateway_connections_rejected_total", "reason", tc.code)
		status, code := refusalRequest(t, g.URL, tc)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: answered %d %q, want %d %q", tc.name, status, code, tc.status, tc.code)
		}
		want := before
		if tc.counted {
			want++
			counted++
		}
		if got := harness.Metric(t, g.Registry, "ssegate_gateway_connections_rejected_total", "reason", tc.code); got != want {
			t.Errorf("%s: rejected{reason=%q} = %v, want %v", tc.name, tc.code, got, want)
		}
	}
	if got := harness.Metric(t, g.Registry, "ssegate_gateway_connections_rejected_total"); got != float64(counted) {
		t.Errorf("rejected, all reasons = %v, want %d", got, counted)
	}
	if got := harness.Metric(t, g.Registry, "ssegate_publisher_validation_failures_total"); got != 1 {
		t.Errorf("publisher validation failures, all reasons = %v, want 1 (the invalid publish)", got)
	}
}

// refusalRequest sends tc to base and returns the status and error code of
// the answer.
func refusalRequest(t *testing.T, base string, tc refusalCase) (int, string) {
	t.Helper()
	var body io.Reader
	if tc.method == http.MethodPost {
		body = strings.NewReader("{")
	}
	req, err := http.NewRequest(tc.method, base+tc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tc.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	defer resp.Body.Close()
	var answer struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Errorf("%s: %d answer is no JSON error: %v", tc.name, resp.StatusCode, err)
	}
	return resp.StatusCode, answer.Error.Code
}
