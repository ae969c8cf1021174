package integration

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// TestStreamPositionOnRedis (issue 11): on the Redis broker every stream
// starts with its position, an id line without data: 0-0 for a topic
// without history, the newest id otherwise (also when the history was
// trimmed), one id per topic for several. A client that got only that
// position and left resumes with exactly what was published meanwhile and
// no reset.
func TestStreamPositionOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	p := startPublisher(t, srv, broker.HistoryConfig{})
	short := startPublisher(t, srv, broker.HistoryConfig{MaxLen: 10}) // trims pos:trimmed
	g := startGateway(t, srv, gateway.Config{})

	withHistory := p.publishSeq(t, "pos:full", 0, 3)
	multi := p.publishSeq(t, "pos:multi", 0, 2)
	trimmed := short.publishSeq(t, "pos:trimmed", 0, 250)
	if n, _ := strconv.Atoi(srv.Do(t, "XLEN", redisbroker.StreamKey("pos:trimmed"))); n >= 250 {
		t.Fatalf("history of pos:trimmed holds %d events: not trimmed", n)
	}
	tests := []struct {
		name   string
		topics []string // sorted, as the stream orders them
		want   string
	}{
		{"topic without history", []string{"pos:empty"}, "0-0"},
		{"topic with history", []string{"pos:full"}, withHistory[2]},
		{"trimmed history", []string{"pos:trimmed"}, trimmed[249]},
		{"several topics", []string{"pos:empty2", "pos:multi"}, "0-0_" + multi[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := harness.Subscribe(t, streamURL(g, tt.topics...), nil)
			pos := s.MustPosition(t, waitFor)
			if pos != tt.want {
				t.Fatalf("position %q, want %q", pos, tt.want)
			}
			s.Close()
			var ids []string
			for i := range 4 {
				ids = append(ids, short.publishSeq(t, tt.topics[i%len(tt.topics)], 1000+i, 1)[0])
			}
			r := harness.Subscribe(t, streamURL(g, tt.topics...), resumeFrom(pos))
			for ti := range tt.topics { // the replay goes topic by topic
				for i := ti; i < len(ids); i += len(tt.topics) {
					ev := r.MustNext(t, waitFor)
					var got payload
					if err := json.Unmarshal([]byte(ev.Data), &got); err != nil || ev.Name != "message" || got.I != 1000+i {
						t.Fatalf("event %s %q %q, want message #%d (%s)", ev.Name, ev.ID, ev.Data, 1000+i, ids[i])
					}
					if len(tt.topics) == 1 && ev.ID != ids[i] {
						t.Fatalf("event #%d id %q, want %q", 1000+i, ev.ID, ids[i])
					}
				}
			}
			live := p.publishSeq(t, tt.topics[0], 2000, 1)[0]
			if ev := r.MustNext(t, waitFor); !strings.Contains(ev.Data, `"i":2000`) || (len(tt.topics) == 1 && ev.ID != live) {
				t.Fatalf("event %s %q %q, want the live one %s", ev.Name, ev.ID, ev.Data, live)
			}
		})
	}
}

// TestStreamPositionAcrossGatewayRestart: a client that has only its
// position (no event yet) loses its gateway; one event is published while
// none runs; the client reconnects to a new gateway with that position and
// gets the event.
func TestStreamPositionAcrossGatewayRestart(t *testing.T) {
	srv := redistest.Start(t)
	p := startPublisher(t, srv, broker.HistoryConfig{})
	g := startGateway(t, srv, gateway.Config{})
	s := harness.Subscribe(t, streamURL(g, "restart:a"), nil)
	pos := s.MustPosition(t, waitFor)
	if err := g.Stop(t); err != nil {
		t.Fatalf("gateway run: %v", err)
	}
	s.Close()
	id := p.publishSeq(t, "restart:a", 0, 1)[0]
	g2 := startGateway(t, srv, gateway.Config{})
	r := harness.Subscribe(t, streamURL(g2, "restart:a"), http.Header{"Last-Event-Id": {pos}})
	if ev := r.MustNext(t, waitFor); ev.Name != "message" || ev.ID != id {
		t.Fatalf("event %s %q %q, want message %s published while no gateway ran", ev.Name, ev.ID, ev.Data, id)
	}
}
