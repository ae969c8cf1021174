package httpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// rawRequest sends a GET whose request line and headers are exactly size
// bytes on a fresh connection and returns the status and body.
func rawRequest(t *testing.T, addr string, size int) (int, string) {
	t.Helper()
	head := "GET /ok HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\nX-Junk: "
	pad := size - len(head) - len("\r\n\r\n")
	if pad < 0 {
		t.Fatalf("size %d too small", size)
	}
	req := head + strings.Repeat("c", pad) + "\r\n\r\n"
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write %d bytes: %v", size, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%d-byte header: %v", size, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// TestHeaderLimitIsExact sends real requests around the documented limit:
// a header block of exactly MaxHeaderBytes is served, one byte more gets a
// JSON 431 (net/http alone let up to 4096 bytes more through), and far
// beyond it net/http's own cut-off still answers 431.
func TestHeaderLimitIsExact(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{0, 8000} { // 0: the default, 16,384
		e := NewEcho(Options{MaxHeaderBytes: limit})
		e.GET("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, e, ln, Options{MaxHeaderBytes: limit}, 5*time.Second, nil) }()
		want := limit
		if want == 0 {
			want = DefaultMaxHeaderBytes
		}
		addr := ln.Addr().String()
		for _, tc := range []struct {
			size int
			code int
			json bool
		}{
			{want - 1, http.StatusOK, false},
			{want, http.StatusOK, false},
			{want + 1, http.StatusRequestHeaderFieldsTooLarge, true},
			{want + 4000, http.StatusRequestHeaderFieldsTooLarge, true},
			{want + 20000, http.StatusRequestHeaderFieldsTooLarge, false},
		} {
			code, body := rawRequest(t, addr, tc.size)
			if code != tc.code {
				t.Errorf("limit %d, %d-byte header: %d %.100s, want %d", want, tc.size, code, body, tc.code)
				continue
			}
			if tc.json {
				var b struct{ Error struct{ Code string } }
				if err := json.Unmarshal([]byte(body), &b); err != nil || b.Error.Code != "headers_too_large" {
					t.Errorf("limit %d, %d-byte header: body %q, want code headers_too_large", want, tc.size, body)
				}
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
}
