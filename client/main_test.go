package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait of these tests.
const waitFor = 30 * time.Second

// startPublisher runs the real publisher program on srv.
func startPublisher(t *testing.T, srv *redistest.Server) *harness.Publisher {
	t.Helper()
	cfg := publisher.ProgramConfig{RedisURL: srv.URL(), History: broker.HistoryConfig{}}
	cfg.PublishTimeout = 5 * time.Second
	return harness.StartPublisher(t, cfg)
}

// startGatewayOn runs the real gateway program on ln, with short test
// timings, and waits until it takes streams.
func startGatewayOn(t *testing.T, ln net.Listener, srv *redistest.Server) *harness.Gateway {
	t.Helper()
	g := harness.StartGatewayOn(t, ln, gateway.ProgramConfig{
		Config: gateway.Config{
			PingInterval: time.Second, SendTimeout: 5 * time.Second,
			Retry: 50 * time.Millisecond, DrainWindow: 10 * time.Millisecond,
		},
		RedisURL: srv.URL(), ShutdownGrace: 5 * time.Second,
	})
	harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
	return g
}

// attempt is one request a recording transport saw.
type attempt struct {
	key    string // its Idempotency-Key
	status int    // 0 when it failed without an answer
}

// recorder is an http.RoundTripper around the default transport that
// records every attempt, and can lose the answer of the first successful
// one (the request reached the server, the client never hears back).
type recorder struct {
	base     http.RoundTripper
	loseNext bool

	mu       sync.Mutex
	attempts []attempt
	changed  chan struct{} // gets a value (non-blocking) after each attempt
}

func newRecorder(t *testing.T) *recorder {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &recorder{base: tr, changed: make(chan struct{}, 1)}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	a := attempt{key: req.Header.Get("Idempotency-Key")}
	r.mu.Lock()
	if err == nil {
		a.status = resp.StatusCode
		if r.loseNext && resp.StatusCode < 300 {
			r.loseNext = false
			resp.Body.Close()
			resp, err = nil, errors.New("test: answer lost")
		}
	}
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return resp, err
}

// seen returns a copy of the attempts so far.
func (r *recorder) seen() []attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]attempt(nil), r.attempts...)
}

// waitUntil waits until cond holds for the attempts so far.
func (r *recorder) waitUntil(t *testing.T, what string, cond func([]attempt) bool) {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for !cond(r.seen()) {
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("%s: not within %v (attempts %+v)", what, waitFor, r.seen())
		}
	}
}

// historyIDs is the id list of topic's history, from XRANGE.
func historyIDs(t *testing.T, srv *redistest.Server, topic string) []string {
	t.Helper()
	r, err := srv.Exec(context.Background(), "XRANGE", "ssegate:{"+topic+"}:history", "-", "+")
	if err != nil {
		t.Fatalf("XRANGE %s: %v", topic, err)
	}
	ids := make([]string, len(r.Elems))
	for i, e := range r.Elems {
		ids[i] = e.Elems[0].Str
	}
	return ids
}
