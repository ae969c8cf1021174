package httpserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
)

// serveBodies serves e (from NewEcho with a body read timeout of timeout)
// on loopback through Serve and returns its address.
func serveBodies(t *testing.T, timeout time.Duration, routes func(e *echo.Echo)) string {
	t.Helper()
	opts := Options{BodyReadTimeout: timeout}
	e := NewEcho(opts)
	routes(e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, e, ln, opts, time.Second, nil) }() // Owner: this test. Exit: cancel.
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestBodyDeadline covers how request bodies are bounded on every route.
func TestBodyDeadline(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	readErr := make(chan error, 1)
	addr := serveBodies(t, timeout, func(e *echo.Echo) {
		e.POST("/read", func(c echo.Context) error {
			_, err := io.ReadAll(c.Request().Body)
			readErr <- err
			if err != nil {
				return httperr.New(http.StatusRequestTimeout, "body_read_timeout", "late")
			}
			// Longer than the deadline: once the body is read the deadline no
			// longer applies, so the request is not cancelled and the
			// connection lives on.
			select {
			case <-c.Request().Context().Done():
				return httperr.New(http.StatusInternalServerError, "cancelled", "the request was cancelled")
			case <-time.After(2 * timeout):
			}
			return c.String(http.StatusOK, "ok")
		})
	})

	t.Run("AnErrorAnswerDoesNotWaitForTheBody", func(t *testing.T) {
		// A long deadline: the answer and the close must not wait for it.
		addr := serveBodies(t, time.Minute, func(e *echo.Echo) {
			e.POST("/refuse", func(echo.Context) error { return httperr.New(http.StatusUnauthorized, "missing_token", "no") })
		})
		for _, path := range []string{"/refuse", "/metrics", "/nowhere"} { // refused, 405, 404
			conn, br := dialRaw(t, addr, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
			start := time.Now()
			resp := readResponse(t, br)
			if resp.StatusCode < 400 || !resp.Close {
				t.Fatalf("%s: %d, close %v; want an error with Connection: close", path, resp.StatusCode, resp.Close)
			}
			requireClosed(t, conn, br, start, 5*time.Second)
		}
	})

	t.Run("ALateBodyFailsAtTheDeadline", func(t *testing.T) {
		conn, br := dialRaw(t, addr, "POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")
		start := time.Now()
		resp := readResponse(t, br)
		if err := <-readErr; !IsBodyTimeout(err) {
			t.Fatalf("reading the body: %v, want a deadline error", err)
		}
		if took := time.Since(start); resp.StatusCode != http.StatusRequestTimeout || took < timeout*9/10 {
			t.Fatalf("%d after %v, want 408 after %v", resp.StatusCode, took, timeout)
		}
		requireClosed(t, conn, br, start, 2*timeout)
	})

	t.Run("AReadBodyKeepsTheRequestAndConnection", func(t *testing.T) {
		req := "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
		conn, br := dialRaw(t, addr, req)
		for i := range 2 { // the second request reuses the connection
			if resp := readResponse(t, br); resp.StatusCode != http.StatusOK || resp.Close {
				t.Fatalf("request %d: %d, close %v; want 200 keeping the connection", i, resp.StatusCode, resp.Close)
			}
			if err := <-readErr; err != nil {
				t.Fatalf("request %d: reading the body: %v", i, err)
			}
			if i == 0 {
				if _, err := io.WriteString(conn, req); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// dialRaw opens a connection, sends raw and returns a reader of answers.
func dialRaw(t *testing.T, addr, raw string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

func readResponse(t *testing.T, br *bufio.Reader) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("answer body %q: %v", body, err)
	}
	return resp
}

// requireClosed requires the server to close conn within limit of start.
func requireClosed(t *testing.T, conn net.Conn, br *bufio.Reader, start time.Time, limit time.Duration) {
	t.Helper()
	if err := conn.SetReadDeadline(start.Add(limit)); err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, br); err != nil && !strings.Contains(err.Error(), "reset") || n != 0 {
		t.Fatalf("the connection was not closed within %v: %d bytes, %v", limit, n, err)
	}
}
