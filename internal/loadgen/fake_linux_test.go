package loadgen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBroker is the shared state of a fake deployment: one publisher and
// any number of gateways behind it (what Redis is for the real one). It
// speaks the wire format of docs/CONTRACT.md: `retry:` + `: ok` preamble, a
// `: ping`, `id: <ms>-<seq>` (joined by "_" for several topics), and raw
// messages without id.
type fakeBroker struct {
	mu     sync.Mutex
	subs   map[string]map[*fakeSub]struct{}
	last   map[string]streamID // last id per topic
	nConns atomic.Int64
}

// fakeGatewayStats are one fake gateway's /metrics values.
type fakeGatewayStats struct {
	open      atomic.Int64
	delivered atomic.Int64
}

type streamID struct{ ms, seq uint64 }

func (s streamID) String() string { return fmt.Sprintf("%d-%d", s.ms, s.seq) }

type fakeSub struct {
	topics []string // sorted
	pos    []streamID
	eol    string
	split  bool // split data into two data lines
	frames chan []byte
}

func newFakeBroker() *fakeBroker {
	return &fakeBroker{subs: map[string]map[*fakeSub]struct{}{}, last: map[string]streamID{}}
}

// publish appends an event to topic and fans it out; raw events carry no id.
func (b *fakeBroker) publish(topic, typ string, data []byte, raw bool) (string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.last[topic]
	now := uint64(time.Now().UnixMilli())
	if now > id.ms {
		id = streamID{ms: now}
	} else {
		id.seq++
	}
	b.last[topic] = id
	n := 0
	for s := range b.subs[topic] {
		var f []byte
		if !raw {
			for i, t := range s.topics {
				if t == topic {
					s.pos[i] = id
				}
			}
			parts := make([]string, len(s.pos))
			for i, p := range s.pos {
				parts[i] = p.String()
			}
			f = append(f, "id: "+strings.Join(parts, "_")+s.eol...)
		}
		if typ != "" {
			f = append(f, "event: "+typ+s.eol...)
		}
		d := string(data)
		if i := strings.IndexByte(d, ','); s.split && i > 0 {
			// Two data lines: the parser joins them with "\n", which is
			// JSON whitespace.
			f = append(f, "data: "+d[:i+1]+s.eol+"data:"+d[i+1:]+s.eol...)
		} else {
			f = append(f, "data: "+d+s.eol...)
		}
		f = append(f, s.eol...)
		select {
		case s.frames <- f:
			n++
		default: // a real gateway would evict; the test then sees gaps
		}
	}
	return id.String(), n
}

func (b *fakeBroker) subscribe(s *fakeSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range s.topics {
		if b.subs[t] == nil {
			b.subs[t] = map[*fakeSub]struct{}{}
		}
		b.subs[t][s] = struct{}{}
	}
}

func (b *fakeBroker) unsubscribe(s *fakeSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range s.topics {
		delete(b.subs[t], s)
	}
}

// gatewayHandler serves GET /api/sse/stream and GET /metrics.
func (b *fakeBroker) gatewayHandler() http.Handler {
	st := &fakeGatewayStats{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/sse/stream", func(w http.ResponseWriter, r *http.Request) {
		topics := r.URL.Query()["topic"]
		if len(topics) == 0 {
			http.Error(w, `{"error":{"code":"bad_request","message":"no topic"}}`, http.StatusBadRequest)
			return
		}
		sort.Strings(topics)
		n := b.nConns.Add(1)
		s := &fakeSub{
			topics: topics,
			pos:    make([]streamID, len(topics)),
			eol:    []string{"\n", "\r\n", "\r"}[n%3],
			split:  n%2 == 0,
			frames: make(chan []byte, 4096),
		}
		b.subscribe(s)
		defer b.unsubscribe(s)
		st.open.Add(1)
		defer st.open.Add(-1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if _, err := fmt.Fprintf(w, "retry: 2000%s: ok%s%s: ping%s%s", s.eol, s.eol, s.eol, s.eol, s.eol); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		for {
			select {
			case <-r.Context().Done():
				return
			case f := <-s.frames:
				// Counted before the write so that /metrics never lags
				// behind what a client has already received.
				st.delivered.Add(1)
				if _, err := w.Write(f); err != nil {
					return
				}
				if rc.Flush() != nil {
					return
				}
			}
		}
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE ssegate_gateway_connections gauge\nssegate_gateway_connections %d\nssegate_gateway_events_delivered_total %d\n",
			st.open.Load(), st.delivered.Load())
	})
	return mux
}

// publisherHandler serves POST /v1/events like cmd/publisher.
func (b *fakeBroker) publisherHandler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"bad token"}}`))
			return
		}
		var ev struct {
			Topic string          `json:"topic"`
			Type  string          `json:"type"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Topic == "" || len(ev.Data) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id, n := b.publish(ev.Topic, ev.Type, ev.Data, false)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"` + id + `","topic":` + strconv.Quote(ev.Topic) + `,"receivers":` + strconv.Itoa(n) + `}`))
	})
	return mux
}

// fakeDeployment starts n fake gateways and a fake publisher on 127.0.0.1.
type fakeDeployment struct {
	broker     *fakeBroker
	gateways   []*httptest.Server
	publisher  *httptest.Server
	gatewayURL []string
	metricsURL []string
}

func startFake(t *testing.T, gateways int, token string) *fakeDeployment {
	t.Helper()
	d := &fakeDeployment{broker: newFakeBroker()}
	for range gateways {
		s := httptest.NewServer(d.broker.gatewayHandler())
		t.Cleanup(s.Close)
		d.gateways = append(d.gateways, s)
		d.gatewayURL = append(d.gatewayURL, s.URL)
		d.metricsURL = append(d.metricsURL, s.URL+"/metrics")
	}
	d.publisher = httptest.NewServer(d.broker.publisherHandler(token))
	t.Cleanup(d.publisher.Close)
	return d
}
