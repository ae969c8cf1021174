package gateway_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/test/harness"
)

// Issue 14: ?state=1 sends the latest event of every key before anything
// live, then an `event: state` marker whose id is the position the live
// stream continues from (docs/CONTRACT.md "State").

// keyedPublisher publishes keyed events on g's embedded broker.
func keyedPublisher(t *testing.T, g *harness.Gateway) func(topic, key, event, data string, del bool) string {
	return func(topic, key, event, data string, del bool) string {
		t.Helper()
		r, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
			Topic: topic, Key: key, Event: event, Data: []byte(data), Delete: del, AcceptedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID.String()
	}
}

// readExactly reads len(want) bytes of a raw stream and compares them.
func readExactly(t *testing.T, rs *rawStream, want string) {
	t.Helper()
	if rs.resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(rs.resp.Body, 1024))
		t.Fatalf("status %s: %s", rs.resp.Status, body)
	}
	got := make([]byte, len(want))
	n, err := io.ReadFull(rs.resp.Body, got)
	if err != nil || string(got) != want {
		t.Fatalf("stream bytes (%v):\n%q\nwant:\n%q", err, got[:n], want)
	}
}

// TestStreamStateBytes: the exact bytes of a single-topic state stream:
// preamble, no position frame, every key's latest event in stream order
// framed as replay frames it (id, event name unless message, data lines),
// the marker, then the next live event.
func TestStreamStateBytes(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{Retry: 1500 * time.Millisecond, StateCacheTTL: time.Nanosecond}})
	pub := keyedPublisher(t, g)
	pub("st:a", "SP-1", "", `{"v":1}`, false)
	b := pub("st:a", "SP-2", "spool", "two\nlines", false)
	a := pub("st:a", "SP-1", "", `{"v":2}`, false)
	last := pub("st:a", "", "", "unkeyed", false)
	rs := dialRaw(t, g.URL, "/api/sse/stream?topic=st:a&state=1", false)
	readExactly(t, rs, "retry: 1500\n: ok\n\n"+
		"id: "+b+"\nevent: spool\ndata: two\ndata: lines\n\n"+
		"id: "+a+"\ndata: {\"v\":2}\n\n"+
		"id: "+last+"\nevent: state\ndata: {\"position\":\""+last+"\",\"keys\":2,\"topics\":[{\"topic\":\"st:a\",\"position\":\""+last+"\",\"keys\":2}]}\n\n")
	_ = rs.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	next := pub("st:a", "SP-2", "", "3", false)
	readExactly(t, rs, "id: "+next+"\ndata: 3\n\n")
}

// stateMarkerData is the marker's data for topics given as topic, position
// and key count triples.
func stateMarkerData(position string, keys int, topics ...string) string {
	var parts []string
	for i := 0; i+2 < len(topics); i += 3 {
		parts = append(parts, `{"topic":"`+topics[i]+`","position":"`+topics[i+1]+`","keys":`+topics[i+2]+`}`)
	}
	return `{"position":"` + position + `","keys":` + strconv.Itoa(keys) + `,"topics":[` + strings.Join(parts, ",") + `]}`
}

// TestStreamStateMultiTopicBytes: a multi-topic stream gets each topic's
// state in topic order, its events without id lines, and one marker whose
// id is the composite position; live events then carry positions.
func TestStreamStateMultiTopicBytes(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{Retry: 1500 * time.Millisecond, StateCacheTTL: time.Nanosecond}})
	pub := keyedPublisher(t, g)
	b1 := pub("mt:b", "k", "", "b1", false)
	pub("mt:a", "x", "", "a-old", false)
	pub("mt:a", "y", "", "a-y", false)
	a3 := pub("mt:a", "x", "", "a-x", false)
	pub("mt:c", "", "", "unkeyed", false)
	rs := dialRaw(t, g.URL, "/api/sse/stream?topic=mt:b&topic=mt:a&topic=mt:c&state=true", false)
	cPos := mustGetState(t, g.URL, "mt:c").Position // its unkeyed event: a position, no key
	pos := a3 + "_" + b1 + "_" + cPos
	readExactly(t, rs, "retry: 1500\n: ok\n\n"+
		"data: a-y\n\ndata: a-x\n\ndata: b1\n\n"+
		"id: "+pos+"\nevent: state\ndata: "+stateMarkerData(pos, 3, "mt:a", a3, "2", "mt:b", b1, "1", "mt:c", cPos, "0")+"\n\n")
	_ = rs.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	next := pub("mt:b", "k", "", "b2", false)
	readExactly(t, rs, "id: "+a3+"_"+next+"_"+cPos+"\ndata: b2\n\n")
}

// nextNamed reads events until one named name arrives and returns it with
// the events before it.
func nextNamed(t *testing.T, s *harness.Stream, name string) (harness.Event, []harness.Event) {
	t.Helper()
	var before []harness.Event
	for range 10000 {
		ev := s.MustNext(t, 5*time.Second)
		if ev.Name == name {
			return ev, before
		}
		before = append(before, ev)
	}
	t.Fatalf("no %s event", name)
	return harness.Event{}, nil
}

// TestStreamStateMatchesStateRoute: with nothing published in between,
// the marker's position is GET /api/state's, and the events before it are
// its entries; a tombstone removes its key from the state of later
// connects.
func TestStreamStateMatchesStateRoute(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{StateCacheTTL: time.Nanosecond}})
	pub := keyedPublisher(t, g)
	for i := range 30 {
		pub("sm:t", "k"+strconv.Itoa(i%7), "", strconv.Itoa(i), false)
	}
	pub("sm:t", "k3", "removed", "", true)
	check := func(wantKeys int) {
		t.Helper()
		want := mustGetState(t, g.URL, "sm:t")
		s := harness.Subscribe(t, streamURL(g, "topic=sm:t&state=1"), nil)
		defer s.Close()
		marker, events := nextNamed(t, s, "state")
		if marker.ID != want.Position || marker.Data != stateMarkerData(want.Position, want.Count, "sm:t", want.Position, strconv.Itoa(want.Count)) {
			t.Fatalf("marker %+v, GET /api/state position %s count %d", marker, want.Position, want.Count)
		}
		if len(events) != wantKeys || want.Count != wantKeys {
			t.Fatalf("%d state events, GET /api/state %d keys; want %d", len(events), want.Count, wantKeys)
		}
		for i, ev := range events {
			if e := want.Entries[i]; ev.ID != e.ID || ev.Name != e.Event || ev.Data != e.Data {
				t.Fatalf("state event %d = %+v, GET /api/state has %+v", i, ev, e)
			}
		}
	}
	check(6)
	pub("sm:t", "k4", "removed", "", true)
	check(5)
}

// TestStreamStateAfterReset: a Last-Event-ID that cannot be resumed on a
// topic with keyed state gets the reset, then the topic's state and the
// marker, with or without state=1; a topic without keys gets no state
// unless asked.
func TestStreamStateAfterReset(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{History: broker.HistoryConfig{MaxLen: 5}, Config: gateway.Config{StateCacheTTL: time.Nanosecond}})
	pub := keyedPublisher(t, g)
	first := pub("rs:t", "a", "", "a1", false)
	for i := range 20 {
		pub("rs:t", "b", "", "b"+strconv.Itoa(i), false)
	}
	last := pub("rs:t", "a", "", "a2", false)
	pub("rs:empty", "", "", "x", false)
	tests := []struct {
		name, query, lastID, reason string
		state                       bool
	}{
		{"trimmed", "topic=rs:t", first, "trimmed", true},
		{"malformed", "topic=rs:t", "nonsense", "malformed", true},
		{"malformed, state asked", "topic=rs:t&state=1", "nonsense", "malformed", true},
		{"no keys, not asked", "topic=rs:empty", "nonsense", "malformed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := harness.Subscribe(t, streamURL(g, tt.query), http.Header{"Last-Event-Id": {tt.lastID}})
			reset := s.MustNext(t, 5*time.Second)
			if reset.Name != "reset" || !strings.Contains(reset.Data, `"reason":"`+tt.reason+`"`) {
				t.Fatalf("first event %+v, want a %s reset", reset, tt.reason)
			}
			if !tt.state {
				id := pub("rs:empty", "", "", "live", false)
				expectEvent(t, s, "message", id, "live")
				return
			}
			want := mustGetState(t, g.URL, "rs:t")
			expectEvent(t, s, "message", want.Entries[0].ID, "b19")
			expectEvent(t, s, "message", last, "a2")
			expectEvent(t, s, "state", last, stateMarkerData(last, 2, "rs:t", last, "2"))
		})
	}
}

// TestStreamStateDefaultTopics: SSEGATE_STATE_TOPICS gives matching streams
// their state without asking, state=0 declines it, other topics get none,
// and a bad state value is 400 invalid_query.
func TestStreamStateDefaultTopics(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{StateTopics: []string{"dt:board*", "dt:exact"}, StateCacheTTL: time.Nanosecond}})
	pub := keyedPublisher(t, g)
	for _, topic := range []string{"dt:board1", "dt:exact", "dt:other"} {
		pub(topic, "k", "", topic, false)
	}
	tests := []struct {
		query string
		state bool
	}{
		{"topic=dt:board1", true},
		{"topic=dt:exact", true},
		{"topic=dt:other&topic=dt:board1", true},
		{"topic=dt:board1&state=0", false},
		{"topic=dt:exact&state=false", false},
		{"topic=dt:other", false},
		{"topic=dt:other&state=1", true},
	}
	for _, tt := range tests {
		s := harness.Subscribe(t, streamURL(g, tt.query), nil)
		if tt.state {
			nextNamed(t, s, "state")
		} else if pos := s.MustPosition(t, 5*time.Second); pos == "" {
			t.Errorf("?%s: empty position", tt.query)
		}
		s.Close()
	}
	for _, q := range []string{"state=yes", "state=", "state=1&state=1", "state=TRUE"} {
		resp, err := http.Get(streamURL(g, "topic=dt:board1&"+q))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_query"`) {
			t.Errorf("?%s: %d %s, want 400 invalid_query", q, resp.StatusCode, body)
		}
	}
}

// TestParseStateTopics: SSEGATE_STATE_TOPICS takes names, "*" and prefixes
// ending in "*"; anything else fails the start with the pattern named.
func TestParseStateTopics(t *testing.T) {
	t.Parallel()
	if got, err := gateway.ParseStateTopics([]string{"spools:*", "board", "*"}, 0); err != nil || len(got) != 3 {
		t.Fatalf("valid patterns: %v %v", got, err)
	}
	for _, bad := range []string{"a*b", "sp ools", "**", "__keyspace*"} {
		if _, err := gateway.ParseStateTopics([]string{bad}, 0); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
}
