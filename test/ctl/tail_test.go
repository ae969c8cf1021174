package ctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/redistest"
)

// anonymous lets the publisher accept publishes without a token.
var anonymous = map[string]string{"SSEGATE_ALLOW_ANONYMOUS_PUBLISH": "true"}

// TestTail: tail -json prints an event published before it started (from
// the history, -from 0-0) and then events as they are published, each as
// one JSON object with its id, topic, event name and data, and ends by
// itself after -n events with status 0.
func TestTail(t *testing.T) {
	srv := redistest.Start(t)
	gw, pub := services(t, srv.URL()+"/0", anonymous)
	first := strings.TrimSpace(mustCtl(t, nil, "", "publish", "-url", pub.URL, "-topic", "orders", "-data", `{"n":1}`))
	tail := start(t, nil, "tail", "-url", gw.URL, "-from", "0-0", "-json", "-n", "3", "orders")
	want := []struct{ id, event, data string }{{id: first, event: "message", data: `{"n":1}`}}
	check := func(i int) {
		t.Helper()
		var got tailLine
		line := tail.next(t)
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		w := want[i]
		if got.ID != w.id || got.Event != w.event || string(got.Data) != w.data || got.Topic != "orders" {
			t.Fatalf("line %d = %q, want id %s event %s data %s topic orders", i, line, w.id, w.event, w.data)
		}
	}
	check(0) // from history: the stream is open and subscribed from here on
	for i, ev := range []struct{ event, data string }{{"", `{"n":2}`}, {"shipped", `"text"`}} {
		args := []string{"publish", "-url", pub.URL, "-topic", "orders", "-data", ev.data}
		if ev.event != "" {
			args = append(args, "-event", ev.event)
		}
		id := strings.TrimSpace(mustCtl(t, nil, "", args...))
		name := ev.event
		if name == "" {
			name = "message"
		}
		want = append(want, struct{ id, event, data string }{id, name, ev.data})
		check(i + 1)
	}
	if err := tail.exit(t); err != nil {
		t.Fatalf("tail -n 3 after 3 events: %v", err)
	}
}

// tailLine is one line of tail -json.
type tailLine struct {
	ID    string          `json:"id"`
	Topic string          `json:"topic"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// TestTailFrom: tail -from <id> resumes after that event: it prints the
// events published after it, in order, and not the one it names; the
// plain output is id, event name and data separated by tabs.
func TestTailFrom(t *testing.T) {
	srv := redistest.Start(t)
	gw, pub := services(t, srv.URL()+"/0", anonymous)
	var ids []string
	for _, data := range []string{"1", "2", "3"} {
		ids = append(ids, strings.TrimSpace(mustCtl(t, nil, "", "publish", "-url", pub.URL, "-topic", "a", "-data", data)))
	}
	out := mustCtl(t, nil, "", "tail", "-url", gw.URL, "-from", ids[0], "-n", "2", "a")
	want := ids[1] + "\tmessage\t2\n" + ids[2] + "\tmessage\t3\n"
	if out != want {
		t.Fatalf("tail -from %s printed\n%q\nwant\n%q", ids[0], out, want)
	}
}

// TestTailState: tail -state prints each key's latest event (published
// before tail started, older updates of a key left out), in stream order,
// then the gateway's state marker with the position the stream continues
// from, then live events.
func TestTailState(t *testing.T) {
	srv := redistest.Start(t)
	gw, pub := services(t, srv.URL()+"/0", anonymous)
	publish := func(key, data string) string {
		t.Helper()
		return strings.TrimSpace(mustCtl(t, nil, "", "publish", "-url", pub.URL, "-topic", "board", "-key", key, "-data", data))
	}
	publish("a", "1")
	b1 := publish("b", "1")
	a2 := publish("a", "2")
	tail := start(t, nil, "tail", "-url", gw.URL, "-state", "-n", "4", "board")
	for _, want := range []string{b1 + "\tmessage\t1", a2 + "\tmessage\t2"} {
		if got := tail.next(t); got != want {
			t.Fatalf("state line %q, want %q", got, want)
		}
	}
	marker := tail.next(t)
	if !strings.HasPrefix(marker, a2+"\tstate\t") || !strings.Contains(marker, `"keys":2`) {
		t.Fatalf("marker line %q, want id %s, event state, 2 keys", marker, a2)
	}
	live := publish("c", "3")
	if got, want := tail.next(t), live+"\tmessage\t3"; got != want {
		t.Fatalf("live line %q, want %q", got, want)
	}
	if err := tail.exit(t); err != nil {
		t.Fatalf("tail -n 4: %v", err)
	}
}
