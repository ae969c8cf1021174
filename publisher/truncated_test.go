package publisher

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTruncatedBody sends a body shorter than announced and half-closes the
// connection, as a client that dies mid-request does: the answer is 400
// truncated_body and nothing is published, never an event built from the
// part that arrived.
func TestTruncatedBody(t *testing.T) {
	t.Parallel()
	part := `{"event_type":"TOMAR","tag_spool":"SP-1"}`
	tests := []struct {
		name    string
		framing string // headers after Content-Type, ending the header block
		body    string
	}{
		{"short of Content-Length", "Content-Length: 100\r\n\r\n", part},
		{"chunked without the last chunk", "Transfer-Encoding: chunked\r\n\r\n", "29\r\n" + part + "\r\n"},
		{"chunk cut short", "Transfer-Encoding: chunked\r\n\r\n", "40\r\n" + part},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{})
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "http://"), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			req := "POST /publish HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" + tc.framing + tc.body
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, reply{status: resp.StatusCode, header: resp.Header, body: b}, http.StatusBadRequest, "truncated_body")
			if n := s.store.calls.Load(); n != 0 {
				t.Errorf("%d publish calls reached the broker, want 0", n)
			}
		})
	}
}
