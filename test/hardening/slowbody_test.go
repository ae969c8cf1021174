package hardening

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testcert"
)

// bodyTimeout is SSEGATE_BODY_READ_TIMEOUT in these tests: short, so the
// suite stays fast.
const bodyTimeout = time.Second

// slowTarget is a running binary attacked with slow bodies.
type slowTarget struct {
	base   string                   // http(s)://host:port
	dial   func() (net.Conn, error) // a raw HTTP/1.1 connection to it
	client *http.Client             // keep-alives off: no idle connection holds a server goroutine
}

// TestSlowRequestBodies: connections that send a publish body slowly —
// one byte at a time under a Content-Length, or a first chunk and then
// nothing — against the real publisher binary and the real embedded
// gateway binary (over TLS). Without a credential they are answered 401
// at once and closed, never waiting on the body; with one they get 408
// body_read_timeout after SSEGATE_BODY_READ_TIMEOUT. Either way the
// process's goroutines and file descriptors return to where they were.
func TestSlowRequestBodies(t *testing.T) {
	dir := buildCmds(t)
	rd := redistest.Start(t)
	timeout := "SSEGATE_BODY_READ_TIMEOUT=" + bodyTimeout.String()
	listening := func(name string) *regexp.Regexp {
		return regexp.MustCompile(`"msg":"` + name + ` listening","addr":"([^"]+)"`)
	}
	pub := startLogged(t, filepath.Join(dir, "publisher"), "SSEGATE_REDIS_URL="+rd.URL(), "SSEGATE_PUBLISH_TOKENS="+staticToken, timeout)
	pubAddr := pub.waitFor(t, listening("publisher"))
	plain := &slowTarget{
		base:   "http://" + pubAddr,
		dial:   func() (net.Conn, error) { return net.DialTimeout("tcp", pubAddr, 5*time.Second) },
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second},
	}
	t.Run("Publisher", func(t *testing.T) { slowBodies(t, plain) })

	// The embedded gateway serves the publish API itself; over TLS, so the
	// same requests also cross HTTP/2.
	cert := testcert.Write(t, t.TempDir(), 1)
	gw := startLogged(t, filepath.Join(dir, "gateway"), "SSEGATE_PUBLISH_TOKENS="+staticToken, timeout,
		"SSEGATE_TLS_CERT_FILE="+cert.CertFile, "SSEGATE_TLS_KEY_FILE="+cert.KeyFile)
	gwAddr := gw.waitFor(t, listening("gateway"))
	h1 := &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"http/1.1"}}
	secure := &slowTarget{
		base: "https://" + gwAddr,
		dial: func() (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", gwAddr, h1)
		},
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: h1}, Timeout: 20 * time.Second},
	}
	t.Run("EmbeddedGateway", func(t *testing.T) { slowBodies(t, secure) })
	t.Run("EmbeddedGatewayHTTP2", func(t *testing.T) { slowBodiesHTTP2(t, secure, cert) })
}

// slowBodies runs the HTTP/1.1 attacks on tg.
func slowBodies(t *testing.T, tg *slowTarget) {
	publishNormally(t, tg.client, tg.base) // warm up pools, so the baseline is the idle process
	base := tg.usage(t)

	t.Run("Unauthenticated", func(t *testing.T) {
		const n = 300
		var slowest time.Duration
		for i, o := range slowFlood(tg, n, "", bodyTimeout+5*time.Second) {
			slowest = max(slowest, o.closed)
			kind := []string{"Content-Length", "chunked"}[i%2]
			if o.err != nil || o.status != http.StatusUnauthorized || o.code != "missing_token" {
				t.Fatalf("%s connection %d: %d %q, %v; want 401 missing_token", kind, i, o.status, o.code, o.err)
			}
			if o.closed >= bodyTimeout {
				t.Fatalf("%s connection %d was closed after %v: it waited on the body (limit %v)", kind, i, o.closed, bodyTimeout)
			}
		}
		t.Logf("%d connections answered 401 and closed, the slowest after %v", n, slowest)
		tg.waitUsage(t, base)
	})

	t.Run("Authenticated", func(t *testing.T) {
		const n = 20
		for i, o := range slowFlood(tg, n, staticToken, bodyTimeout+5*time.Second) {
			kind := []string{"Content-Length", "chunked"}[i%2]
			if o.err != nil || o.status != http.StatusRequestTimeout || o.code != "body_read_timeout" {
				t.Fatalf("%s connection %d: %d %q, %v; want 408 body_read_timeout", kind, i, o.status, o.code, o.err)
			}
			if o.closed < bodyTimeout*9/10 || o.closed > bodyTimeout+3*time.Second {
				t.Fatalf("%s connection %d was closed after %v, want about %v", kind, i, o.closed, bodyTimeout)
			}
		}
		tg.waitUsage(t, base)
	})

	t.Run("NormalPublishStillWorks", func(t *testing.T) { publishNormally(t, tg.client, tg.base) })

	t.Run("DuplicateIdempotencyKey", func(t *testing.T) {
		req := newPublish(t, tg.base, `{"topic":"hard:slow","data":1}`)
		req.Header["Idempotency-Key"] = []string{"key-1", "key-2"}
		wantError(t, sendVia(t, tg.client.Transport.(*http.Transport), req), http.StatusBadRequest, "duplicate_idempotency_key")
	})
}

// slowFlood runs n slow requests at once, alternating a Content-Length
// body sent a byte at a time with a chunked body that stalls, each given
// limit to be answered and closed. All connections are opened (and TLS
// handshakes done) before the first request is sent, so the times measure
// the server, not the handshakes.
func slowFlood(tg *slowTarget, n int, token string, limit time.Duration) []slowOutcome {
	out := make([]slowOutcome, n)
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], out[i].err = tg.dial()
		}()
	}
	wg.Wait()
	for i := range n {
		if out[i].err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns[i].Close()
			out[i] = slowRequest(conns[i], token, i%2 == 1, limit)
		}()
	}
	wg.Wait()
	return out
}

// slowOutcome is what one slow connection got.
type slowOutcome struct {
	status int
	code   string
	closed time.Duration // from sending the headers to the server's close
	err    error
}

// slowRequest sends a publish request's headers and the start of its body
// on conn, then drips the rest a byte every 50 ms (under a
// Content-Length of 1000) or, chunked, sends nothing more. It reads the
// answer and waits until the server closes the connection, at most limit.
func slowRequest(conn net.Conn, token string, chunked bool, limit time.Duration) slowOutcome {
	head := "POST /v1/events HTTP/1.1\r\nHost: " + conn.RemoteAddr().String() + "\r\nContent-Type: application/json\r\n"
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
	} else {
		head += "Content-Length: 1000\r\n\r\n{"
	}
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		return slowOutcome{err: fmt.Errorf("send headers: %w", err)}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if !chunked {
		wg.Add(1)
		go func() { // Owner: this call. Exit: stop, or a failed write.
			defer wg.Done()
			drip(conn, stop)
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	if err := conn.SetReadDeadline(start.Add(limit)); err != nil {
		return slowOutcome{err: err}
	}
	return readAnswerAndClose(bufio.NewReader(conn), start)
}

// drip writes one space (valid JSON whitespace) every 50 ms until stop or
// a write fails.
func drip(conn net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(50 * time.Millisecond) // the attacker's pace, not synchronisation
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}
}

// readAnswerAndClose reads one answer and then requires the server to
// close the connection (EOF or reset, not the read deadline).
func readAnswerAndClose(br *bufio.Reader, start time.Time) slowOutcome {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return slowOutcome{err: fmt.Errorf("no answer after %v: %w", time.Since(start), err)}
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return slowOutcome{status: resp.StatusCode, err: fmt.Errorf("answer body: %w", err)}
	}
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	o := slowOutcome{status: resp.StatusCode, code: eb.Error.Code}
	if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
		o.err = fmt.Errorf("the server kept the connection open after answering (%v)", time.Since(start))
		return o
	}
	o.closed = time.Since(start)
	return o
}

// newPublish is an authenticated POST /v1/events of body.
func newPublish(t *testing.T, base, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+staticToken)
	return req
}

// publishNormally publishes one event and requires 202.
func publishNormally(t *testing.T, client *http.Client, base string) {
	t.Helper()
	res := sendVia(t, client.Transport.(*http.Transport), newPublish(t, base, `{"topic":"hard:slow","data":{"n":1}}`))
	if res.Status != http.StatusAccepted {
		t.Fatalf("normal publish: %d %s", res.Status, res.Body)
	}
}

// usage is a process's goroutines and open file descriptors, from its
// /metrics (go_goroutines, process_open_fds).
type usage struct{ goroutines, fds float64 }

func (tg *slowTarget) usage(t *testing.T) usage {
	t.Helper()
	resp, err := tg.client.Get(tg.base + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	var u usage
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_goroutines":
			u.goroutines = v
		case "process_open_fds":
			u.fds = v
		}
	}
	if u.goroutines == 0 || u.fds == 0 {
		t.Fatalf("scrape: no go_goroutines or process_open_fds (%v)", sc.Err())
	}
	return u
}

// waitUsage waits (at most 10 s) until goroutines and open files are back
// to base, give or take two for the scrape itself.
func (tg *slowTarget) waitUsage(t *testing.T, base usage) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u := tg.usage(t)
		if u.goroutines <= base.goroutines+2 && u.fds <= base.fds+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back to baseline: %+v, baseline %+v", u, base)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition under a deadline
	}
}

// slowBodiesHTTP2: over HTTP/2 a stalled body is a stalled stream. Without
// a credential it is answered 401 at once; with one, 408 after the
// timeout, while the same connection goes on serving other requests.
func slowBodiesHTTP2(t *testing.T, tg *slowTarget, cert testcert.Pair) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	base := tg.usage(t)

	if o := stalledHTTP2(client, tg.base, ""); o.err != nil || o.status != http.StatusUnauthorized || o.code != "missing_token" || o.closed >= bodyTimeout {
		t.Fatalf("unauthenticated: %d %q after %v, %v; want 401 missing_token at once", o.status, o.code, o.closed, o.err)
	}
	done := make(chan slowOutcome, 1)
	go func() { done <- stalledHTTP2(client, tg.base, staticToken) }() // Owner: this test. Exit: the answer, within bodyTimeout.
	publishNormally(t, client, tg.base)                                // on the same connection, meanwhile
	o := <-done
	if o.err != nil || o.status != http.StatusRequestTimeout || o.code != "body_read_timeout" || o.closed < bodyTimeout*9/10 {
		t.Fatalf("authenticated: %d %q after %v, %v; want 408 body_read_timeout after %v", o.status, o.code, o.closed, o.err, bodyTimeout)
	}
	tr.CloseIdleConnections()
	tg.waitUsage(t, base)
}

// stalledHTTP2 posts a body that sends "{" and then nothing, over HTTP/2,
// and reports the answer and how long it took (closed).
func stalledHTTP2(client *http.Client, base, token string) slowOutcome {
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer pw.Close() // ends the writer below if the transport never read
	wg.Add(1)
	go func() { // Owner: this call. Exit: the transport reads the byte, or the pipe closes.
		defer wg.Done()
		_, _ = pw.Write([]byte("{"))
	}()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/events", pr)
	if err != nil {
		return slowOutcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return slowOutcome{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	o := slowOutcome{status: resp.StatusCode, closed: time.Since(start), err: err}
	if resp.ProtoMajor != 2 {
		o.err = fmt.Errorf("answered over %s, want HTTP/2", resp.Proto)
	}
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	o.code = eb.Error.Code
	return o
}
