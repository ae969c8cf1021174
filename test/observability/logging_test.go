package observability

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/test/harness"
)

// logBuffer is an io.Writer safe for the concurrent writes of a program's
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records decodes the JSON lines written so far.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, line)
		}
		out = append(out, rec)
	}
	return out
}

// startLoggedGateway runs the embedded gateway (publisher routes mounted,
// sharing the logger) with a JSON logger at level writing to the returned
// buffer.
func startLoggedGateway(t *testing.T, level slog.Level) (*harness.Gateway, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	return harness.StartGateway(t, gateway.ProgramConfig{Config: gateway.Config{Logger: log}}), logs
}

// waitNoStreams waits until the gateway has closed every stream (the
// "stream closed" line is written before the stream leaves the count).
func waitNoStreams(t *testing.T, g *harness.Gateway) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for g.Program.Server().Connections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams still open after 10s", g.Program.Server().Connections())
		}
		<-tick.C
	}
}

// TestConnectionLogLinesCarryConnID checks that at debug level every stream
// logs an opened and a closed line with the same `conn` attribute, and that
// each stream has its own id, so one client's lines can be followed.
func TestConnectionLogLinesCarryConnID(t *testing.T) {
	t.Parallel()
	const streams = 3
	g, logs := startLoggedGateway(t, slog.LevelDebug)
	subs := make([]*harness.Stream, streams)
	for i := range subs {
		subs[i] = harness.Subscribe(t, g.URL+"/api/sse/stream?topic=obs:logs", nil)
	}
	harness.PublishEvent(t, g.URL, "obs:logs", "hello")
	for _, s := range subs {
		if ev := s.MustNext(t, 5*time.Second); ev.Data != `"hello"` {
			t.Fatalf("event %q", ev.Data)
		}
		s.Close()
	}
	waitNoStreams(t, g)

	opened := map[string]int{}
	closed := map[string]string{}
	for _, rec := range logs.records(t) {
		msg, _ := rec["msg"].(string)
		if !strings.HasPrefix(msg, "stream ") {
			continue
		}
		conn, _ := rec["conn"].(string)
		if conn == "" {
			t.Errorf("%q line without a conn attribute: %v", msg, rec)
			continue
		}
		if rec["level"] != "DEBUG" {
			t.Errorf("%q logged at %v, want DEBUG (one line per connection is too much at info)", msg, rec["level"])
		}
		switch msg {
		case "stream opened":
			opened[conn]++
			if rec["topics"] == nil {
				t.Errorf("stream opened without topics: %v", rec)
			}
		case "stream closed":
			closed[conn], _ = rec["reason"].(string)
		}
	}
	if len(opened) != streams {
		t.Fatalf("stream opened lines for %d distinct conns, want %d: %v", len(opened), streams, opened)
	}
	for conn, n := range opened {
		if n != 1 {
			t.Errorf("conn %s opened %d times", conn, n)
		}
		if reason, ok := closed[conn]; !ok {
			t.Errorf("conn %s: no stream closed line", conn)
		} else if reason != "normal" {
			t.Errorf("conn %s closed with reason %q, want normal", conn, reason)
		}
	}
}

// TestPublishLogLinesCarryRequestID: a publish's log lines carry the id its
// response returns in X-Request-Id: a generated one, or the caller's own.
func TestPublishLogLinesCarryRequestID(t *testing.T) {
	t.Parallel()
	g, logs := startLoggedGateway(t, slog.LevelDebug)
	generated := harness.PublishEvent(t, g.URL, "obs:req", "one")
	mine := harness.Post(t, g.URL+"/v1/events", map[string]any{"topic": "obs:req", "data": "two"}, "X-Request-Id", "caller-42")
	if mine.Status != http.StatusAccepted {
		t.Fatalf("publish with X-Request-Id: %d %s", mine.Status, mine.Body)
	}
	want := map[string]string{ // stream id → request id
		generated.ID: generated.Header.Get("X-Request-Id"),
		mine.ID:      "caller-42",
	}
	if want[generated.ID] == "" || want[generated.ID] == "caller-42" || mine.Header.Get("X-Request-Id") != "caller-42" {
		t.Fatalf("X-Request-Id %q and %q, want a generated id and caller-42", want[generated.ID], mine.Header.Get("X-Request-Id"))
	}
	for _, rec := range logs.records(t) {
		if rec["msg"] != "published" {
			continue
		}
		id, _ := rec["id"].(string)
		if req, _ := rec["req"].(string); req != want[id] {
			t.Errorf("published %s logged req %q, want %q", id, req, want[id])
		}
		delete(want, id)
	}
	if len(want) != 0 {
		t.Fatalf("no published line for %v", want)
	}
}

// TestLogsHideCredentialsAndPayloads sends credentials in every place a
// client puts them (Authorization header, cookie, access_token parameter)
// and a distinctive event body, on streams and publishes (accepted and
// refused), and checks the log output: credentials appear at no level,
// bodies at none from info up, and an info logger writes no debug lines.
func TestLogsHideCredentialsAndPayloads(t *testing.T) {
	t.Parallel()
	const (
		secret = "s3cr3t-TOKEN-4f9a1c"
		body   = "payload-BODY-7d2e8b"
	)
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			g, logs := startLoggedGateway(t, level)
			h := http.Header{}
			h.Set("Authorization", "Bearer "+secret)
			h.Set("Cookie", "ssegate_token="+secret)
			s := harness.Subscribe(t, g.URL+"/api/sse/stream?topic=obs:secrets&access_token="+url.QueryEscape(secret), h)
			for _, r := range []struct {
				body string
				want int
			}{
				{`{"topic":"obs:secrets","data":{"text":"` + body + `"}}`, http.StatusAccepted},
				{`{"topic":"obs:secrets","data":"` + body + `","unknown":"` + body + `"}`, http.StatusBadRequest},
				{`{"topic":"obs:secrets","data":"` + body, http.StatusBadRequest},
			} {
				res := harness.Post(t, g.URL+"/v1/events", r.body, "Authorization", "Bearer "+secret, "Idempotency-Key", "k-"+secret[:6])
				if res.Status != r.want {
					t.Fatalf("publish %s: %d %s, want %d", r.body, res.Status, res.Body, r.want)
				}
			}
			if ev := s.MustNext(t, 5*time.Second); !strings.Contains(ev.Data, body) {
				t.Fatalf("event %q does not carry the body", ev.Data)
			}
			s.Close()
			waitNoStreams(t, g)

			out := logs.String()
			if out == "" {
				t.Fatal("nothing was logged: the checks below would prove nothing")
			}
			if strings.Contains(out, secret) {
				t.Errorf("a credential was logged:\n%s", out)
			}
			for _, rec := range logs.records(t) {
				line, _ := json.Marshal(rec)
				lvl, _ := rec["level"].(string)
				if lvl == "DEBUG" {
					if level > slog.LevelDebug {
						t.Errorf("debug line from an %v logger: %s", level, line)
					}
					continue
				}
				if strings.Contains(string(line), body) {
					t.Errorf("an event body was logged at %s: %s", lvl, line)
				}
			}
		})
	}
}
