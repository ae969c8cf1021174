package nginx

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/test/harness"
)

// TestAccessLogHasNoToken: a browser passes its JWT as ?access_token= on the
// stream URL (EventSource cannot send headers). The shipped nginx
// configuration logs the request's path without its query string, so the
// token never reaches the access log, written or percent-encoded.
func TestAccessLogHasNoToken(t *testing.T) {
	s := startStack(t, gateway.ProgramConfig{})
	const token = "eyJhbGciOiJIUzI1NiJ9.access-log-secret-token.c2lnbmF0dXJl"
	topic := uniqueTopic(t, "accesslog")
	for _, q := range []string{"&access_token=", "&access%5Ftoken="} {
		st := harness.Subscribe(t, s.streamURL(topic)+q+token, http.Header{})
		st.Close()
	}
	log := waitAccessLog(t, s.proxy, 2)
	if strings.Contains(log, token) || strings.Contains(log, "access-log-secret") {
		t.Fatalf("the access log contains the token:\n%s", log)
	}
	if !strings.Contains(log, `"GET /api/sse/stream HTTP/1.1"`) {
		t.Fatalf("the access log does not show the stream requests by path:\n%s", log)
	}
}

// waitAccessLog returns nginx's access log once it has n lines about the
// stream route (nginx writes a line when the request ends).
func waitAccessLog(t *testing.T, p *proxy, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(p.dir, "access.log"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Count(string(data), "/api/sse/stream") >= n {
			return string(data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log has fewer than %d stream lines after 10 s:\n%s\n%s", n, data, p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
