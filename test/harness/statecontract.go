package harness

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// StateContract checks issue 14's rules for keyed state over HTTP, against a
// publisher and a gateway running on a real Redis (one node or a cluster):
// bad keys get a 400 and publish nothing; a tombstone removes its key from
// the state of new connects; a new key beyond the limit evicts the key
// updated longest ago; a trimmed Last-Event-ID gets `event: reset`, then the
// state, then the marker; GET /api/state and the stream's marker agree on
// the position, and live events follow it.
//
// The publisher must run with a state limit of 4 keys and a history of 10
// events (approximate trimming drops whole 100-entry nodes, so Run publishes
// 400 events to trim the first), the gateway with a state cache TTL short
// enough that every connect reads the state afresh.
type StateContract struct {
	Gateway   string // base URL of the gateway
	Publisher string // base URL of the publisher
	Topic     string // a topic nobody used
	Timeout   time.Duration
}

// StateContractMaxKeys and StateContractMaxLen are the publisher settings
// StateContract expects.
const (
	StateContractMaxKeys = 4
	StateContractMaxLen  = 10
)

// Run runs every step in order; each builds on the state the previous left.
func (c StateContract) Run(t *testing.T) {
	t.Helper()
	c.badKeys(t)
	first := c.post(t, map[string]any{"key": "k1", "data": map[string]any{"k": "k1"}})
	for _, k := range []string{"k2", "k3", "k4"} {
		c.post(t, map[string]any{"key": k, "data": map[string]any{"k": k}})
	}
	c.post(t, map[string]any{"key": "k2", "delete": true, "type": "removed", "data": map[string]any{"k": "k2"}}) // tombstone: {k1, k3, k4}
	c.post(t, map[string]any{"key": "k5", "data": map[string]any{"k": "k5"}})                                    // 4 keys: {k1, k3, k4, k5}
	c.post(t, map[string]any{"key": "k6", "data": map[string]any{"k": "k6"}})                                    // a 5th: k1 evicted
	last := c.post(t, map[string]any{"key": "k3", "data": map[string]any{"k": "k3", "v": 2}})
	want := []string{"k4", "k5", "k6", "k3"} // stream order of each key's latest event
	c.connect(t, want, last)

	for i := range 400 { // trims k1's event out of the history
		c.post(t, map[string]any{"data": i})
	}
	st := c.state(t)
	s := Subscribe(t, c.Gateway+"/api/sse/stream?topic="+url.QueryEscape(c.Topic), http.Header{"Last-Event-Id": {first}})
	defer s.Close()
	reset := s.MustNext(t, c.Timeout)
	if reset.Name != "reset" || !strings.Contains(reset.Data, `"reason":"trimmed"`) {
		t.Fatalf("resume from %s (trimmed): first event %+v, want a trimmed reset", first, reset)
	}
	c.expectState(t, s, want, st.Position)
}

// badKeys posts events with keys the contract refuses and checks that each
// gets its 400 and that none of them was published.
func (c StateContract) badKeys(t *testing.T) {
	t.Helper()
	bad := []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"key": "line\nbreak", "data": 1}, "invalid_key"},
		{map[string]any{"key": strings.Repeat("k", 257), "data": 1}, "invalid_key"},
		{map[string]any{"key": "", "data": 1}, "invalid_key"},
		{map[string]any{"delete": true, "data": 1}, "missing_field"},
	}
	for _, b := range bad {
		b.body["topic"] = c.Topic
		r := Post(t, c.Publisher+"/v1/events", b.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"code":"`+b.code+`"`) {
			t.Errorf("publish %v: %d %s, want 400 %s", b.body, r.Status, r.Body, b.code)
		}
	}
	if st := c.state(t); len(st.Entries) != 0 || st.Position != "0-0" && st.Position != "" {
		t.Fatalf("after refused publishes the state is %+v, want empty", st)
	}
}

// connect opens a stream with ?state=1 and expects want's keys, in order,
// then the marker at position, then a live event.
func (c StateContract) connect(t *testing.T, want []string, position string) {
	t.Helper()
	if st := c.state(t); st.Position != position {
		t.Fatalf("GET /api/state position %s, want %s (the last publish)", st.Position, position)
	}
	s := Subscribe(t, c.Gateway+"/api/sse/stream?state=1&topic="+url.QueryEscape(c.Topic), nil)
	defer s.Close()
	c.expectState(t, s, want, position)
}

// expectState reads the state events of want's keys, the marker at
// position (which must be GET /api/state's position too), then checks
// that a live event follows.
func (c StateContract) expectState(t *testing.T, s *Stream, want []string, position string) {
	t.Helper()
	st := c.state(t)
	for i, k := range want {
		ev := s.MustNext(t, c.Timeout)
		var d struct{ K string }
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.K != k || ev.ID != st.Entries[i].ID {
			t.Fatalf("state event %d: %+v, want key %s with id %s (GET /api/state)", i, ev, k, st.Entries[i].ID)
		}
	}
	marker := s.MustNext(t, c.Timeout)
	if marker.Name != "state" || marker.ID != position || st.Position != position ||
		!strings.Contains(marker.Data, fmt.Sprintf(`"keys":%d`, len(want))) {
		t.Fatalf("marker %+v, want event: state at %s (GET /api/state: %s) with %d keys", marker, position, st.Position, len(want))
	}
	live := c.post(t, map[string]any{"data": "live"})
	if ev := s.MustNext(t, c.Timeout); ev.ID != live {
		t.Fatalf("after the marker: %+v, want the live event %s", ev, live)
	}
}

// stateAnswer is GET /api/state's answer.
type stateAnswer struct {
	Position string
	Entries  []stateEntry
}

// state is GET /api/state for the topic.
func (c StateContract) state(t *testing.T) stateAnswer {
	t.Helper()
	resp, err := Client(t).Get(c.Gateway + "/api/state?topic=" + url.QueryEscape(c.Topic))
	if err != nil {
		t.Fatalf("GET /api/state: %v", err)
	}
	defer resp.Body.Close()
	var a stateAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/state: %d (%v)", resp.StatusCode, err)
	}
	if len(a.Entries) > StateContractMaxKeys {
		t.Fatalf("GET /api/state holds %d keys, more than the limit %d", len(a.Entries), StateContractMaxKeys)
	}
	return a
}

// post publishes body on the topic and returns the event's id.
func (c StateContract) post(t *testing.T, body map[string]any) string {
	t.Helper()
	body["topic"] = c.Topic
	r := Post(t, c.Publisher+"/v1/events", body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("publish %v: %d %s", body, r.Status, r.Body)
	}
	return r.ID
}
