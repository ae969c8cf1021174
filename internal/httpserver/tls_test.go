package httpserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/testcert"
)

// tlsGet GETs url over a new TLS connection trusting pool (HTTP/2 unless
// h1) and returns the body and the serial of the server's certificate.
func tlsGet(url string, pool *x509.CertPool, h1 bool) (body string, serial int64, err error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DisableKeepAlives: true}
	if h1 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // no HTTP/2
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.TLS.PeerCertificates[0].SerialNumber.Int64(), err
}

// TestServeTLS: with CertFiles the server speaks HTTPS, HTTP/2 and
// HTTP/1.1 by negotiation, picks up a renewed certificate without a
// restart, keeps the working one when a renewal is broken, and the
// healthcheck follows the scheme.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := testcert.Write(t, dir, 1)
	e := NewEcho(Options{})
	e.GET("/proto", func(c echo.Context) error { return c.String(http.StatusOK, c.Request().Proto) })
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	files := &CertFiles{Cert: first.CertFile, Key: first.KeyFile, Check: time.Millisecond}
	go func() { done <- Serve(ctx, e, ln, Options{TLS: files}, 5*time.Second, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "https://" + addr + "/proto"

	for _, tc := range []struct {
		name string
		h1   bool
		want string
	}{{"HTTP/2", false, "HTTP/2.0"}, {"HTTP/1.1", true, "HTTP/1.1"}} {
		if body, serial, err := tlsGet(url, first.Pool, tc.h1); err != nil || body != tc.want || serial != 1 {
			t.Fatalf("%s: %q, serial %d, %v; want %q with certificate 1", tc.name, body, serial, err, tc.want)
		}
	}
	if err := Healthcheck(ctx, addr, true); err != nil {
		t.Fatalf("TLS healthcheck: %v", err)
	}
	if err := Healthcheck(ctx, addr, false); err == nil {
		t.Fatal("plain HTTP healthcheck against HTTPS passed")
	}

	second := testcert.Write(t, dir, 2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, serial, err := tlsGet(url, second.Pool, false)
		if err == nil && serial == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("renewed certificate not served within 10s: serial %d, %v", serial, err)
		}
		time.Sleep(5 * time.Millisecond) // polling the file check, bounded by the deadline
	}

	// A broken renewal (a certificate without its key) is not loaded.
	if err := os.WriteFile(second.CertFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, serial, err := tlsGet(url, second.Pool, false); err != nil || serial != 2 {
			t.Fatalf("after a broken renewal: serial %d, %v; want certificate 2 kept", serial, err)
		}
	}
}

func TestServeTLSBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := testcert.Write(t, dir, 1)
	for _, tc := range []struct {
		name  string
		files CertFiles
	}{
		{"missing certificate", CertFiles{Cert: dir + "/none.pem", Key: good.KeyFile}},
		{"missing key", CertFiles{Cert: good.CertFile, Key: dir + "/none.pem"}},
		{"key for another certificate", CertFiles{Cert: good.CertFile, Key: testcert.Write(t, t.TempDir(), 2).KeyFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			err = Serve(context.Background(), NewEcho(Options{}), ln, Options{TLS: &tc.files}, time.Second, nil)
			if err == nil || !errors.Is(err, os.ErrNotExist) && tc.name != "key for another certificate" {
				t.Fatalf("Serve = %v, want a certificate error", err)
			}
			if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("listener still open after the failure: %v", err)
			}
		})
	}
}
