package gateway_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
	"github.com/ssegate/ssegate/test/harness"
)

// Issue 11: a stream that sends no id until its first event leaves a fresh
// client without a position; after a reconnect it cannot resume, and what
// was published meanwhile is lost without a reset. Every stream now starts
// with its position (an id line and no data), on the embedded broker here
// and on Redis in test/integration.

// TestStreamFirstBytesCarryPosition: the first bytes of a fresh stream are
// the preamble and the stream's position, in one flush.
func TestStreamFirstBytesCarryPosition(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{Retry: 1500 * time.Millisecond}})
	publish(t, g, "pos:full", "1")
	full := publish(t, g, "pos:full", "2") // the newest id is the position
	tests := []struct {
		name, query, want string
	}{
		{"topic without history", "topic=pos:empty", "0-0"},
		{"topic with history", "topic=pos:full", full},
		{"several topics", "topic=pos:full&topic=pos:empty", "0-0_" + full},
		{"several topics, sorted", "topic=pos:zz&topic=pos:full", full + "_0-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := dialRaw(t, g.URL, "/api/sse/stream?"+tt.query, false)
			if rs.resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s", rs.resp.Status)
			}
			want := "retry: 1500\n: ok\n\nid: " + tt.want + "\n\n"
			got := make([]byte, len(want))
			if _, err := io.ReadFull(rs.resp.Body, got); err != nil || string(got) != want {
				t.Fatalf("first bytes %q (%v), want %q", got, err, want)
			}
		})
	}
}

// TestStreamResumesFromFirstPosition: a client that got only its position
// (no event yet) leaves; events are published; reconnecting with that
// position as Last-Event-ID gives exactly those events, then live ones.
func TestStreamResumesFromFirstPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history broker.HistoryConfig
		before  int      // events published on the first topic before the client connects
		topics  []string // the publishes while away go to each in turn
	}{
		{"empty topic", broker.HistoryConfig{}, 0, []string{"r:a"}},
		{"topic with history", broker.HistoryConfig{}, 3, []string{"r:a"}},
		{"trimmed history", broker.HistoryConfig{MaxLen: 5}, 40, []string{"r:a"}},
		{"several topics", broker.HistoryConfig{}, 2, []string{"r:a", "r:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, gateway.ProgramConfig{History: tt.history})
			q := "topic=" + strings.Join(tt.topics, "&topic=")
			wantPos := make([]string, len(tt.topics))
			for i := range wantPos {
				wantPos[i] = "0-0"
			}
			for i := range tt.before {
				wantPos[0] = publish(t, g, tt.topics[0], "before "+strconv.Itoa(i))
			}
			s := harness.Subscribe(t, streamURL(g, q), nil)
			pos := s.MustPosition(t, 5*time.Second)
			if want := strings.Join(wantPos, "_"); pos != want {
				t.Fatalf("position %q, want %q", pos, want)
			}
			s.Close()

			var ids, data []string
			for i := range 4 {
				d := "away " + strconv.Itoa(i)
				ids = append(ids, publish(t, g, tt.topics[i%len(tt.topics)], d))
				data = append(data, d)
			}
			r := harness.Subscribe(t, streamURL(g, q), http.Header{"Last-Event-Id": {pos}})
			// The replay goes topic by topic, in the stream's (sorted) topic order.
			for ti := range tt.topics {
				for i := ti; i < len(ids); i += len(tt.topics) {
					ev := expectEvent(t, r, "message", "*", data[i])
					if len(tt.topics) == 1 && ev.ID != ids[i] {
						t.Fatalf("event %q has id %q, want %q", data[i], ev.ID, ids[i])
					}
				}
			}
			live := publish(t, g, tt.topics[0], "live")
			ev := expectEvent(t, r, "message", "*", "live")
			if len(tt.topics) == 1 && ev.ID != live {
				t.Fatalf("live event id %q, want %q", ev.ID, live)
			}
			// The replay's last id was the position: no position frame
			// followed it (it would have been read before the live event).
			if p, err := r.Position(10 * time.Millisecond); err == nil {
				t.Fatalf("position frame %q after a replay that ended at the position", p)
			}
		})
	}
}

// TestStreamPositionConsistentWithLive opens streams while events are
// published as fast as the broker takes them: each stream's events are
// exactly the published ones after the position it was given, none missing
// and none twice, so the position and the live queue come from one point.
func TestStreamPositionConsistentWithLive(t *testing.T) {
	t.Parallel()
	for _, topics := range [][]string{{"c:a"}, {"c:a", "c:b"}} {
		t.Run(strconv.Itoa(len(topics))+" topics", func(t *testing.T) {
			t.Parallel()
			const total, streams = 3000, 12
			g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{QueueSize: total * 2}})
			q := "topic=" + strings.Join(topics, "&topic=")
			published := make([][]streamid.ID, len(topics)) // per topic, in order
			progress := make(chan int, total)
			var wg sync.WaitGroup
			wg.Add(1)
			var pubErr error
			go func() {
				defer wg.Done()
				defer close(progress)
				for i := range total {
					ti := i % len(topics)
					r, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
						Topic: topics[ti], Data: []byte(strconv.Itoa(i)), AcceptedAt: time.Now(),
					})
					if err != nil {
						pubErr = err
						return
					}
					published[ti] = append(published[ti], r.ID)
					progress <- i
				}
			}()
			opened := make([]*harness.Stream, 0, streams)
			positions := make([]string, 0, streams)
			for i := range streams {
				// Spread the streams over the run: wait for a share of the publishes.
				for n := range progress {
					if n >= i*total/(streams+1) {
						break
					}
				}
				s := harness.Subscribe(t, streamURL(g, q), nil)
				opened = append(opened, s)
				positions = append(positions, s.MustPosition(t, 5*time.Second))
			}
			for range progress { // until the publisher ends
			}
			wg.Wait()
			if pubErr != nil {
				t.Fatal(pubErr)
			}
			// A last event: a duplicate or a stray event would come before it.
			last, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
				Topic: topics[0], Data: []byte("last"), AcceptedAt: time.Now(),
			})
			if err != nil {
				t.Fatal(err)
			}
			published[0] = append(published[0], last.ID)
			for si, s := range opened {
				checkSuffix(t, s, positions[si], topics, published)
			}
		})
	}
}

// checkSuffix reads s until it has every event published after pos and
// fails unless they come exactly once, in order within each topic.
func checkSuffix(t *testing.T, s *harness.Stream, pos string, topics []string, published [][]streamid.ID) {
	t.Helper()
	from, err := streamid.ParsePosition(pos, len(topics))
	if err != nil {
		t.Fatalf("position %q: %v", pos, err)
	}
	want := make([][]streamid.ID, len(topics))
	n := 0
	for ti, ids := range published {
		for _, id := range ids {
			if from[ti].Less(id) {
				want[ti] = append(want[ti], id)
				n++
			}
		}
	}
	got := make([]int, len(topics)) // next wanted index per topic
	for range n {
		ev := s.MustNext(t, 5*time.Second)
		cur, err := streamid.ParsePosition(ev.ID, len(topics))
		if err != nil {
			t.Fatalf("event id %q: %v", ev.ID, err)
		}
		moved := -1
		for ti := range topics {
			if cur[ti] != from[ti] {
				if moved >= 0 {
					t.Fatalf("event %q moved two topics from %v", ev.ID, from)
				}
				moved = ti
			}
		}
		if moved < 0 || got[moved] >= len(want[moved]) || cur[moved] != want[moved][got[moved]] {
			t.Fatalf("stream positioned at %s got event %q after %v; want the next published one of a topic", pos, ev.ID, from)
		}
		got[moved]++
		from = cur
	}
}
