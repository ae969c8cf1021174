package loadgen

import (
	"strings"
	"testing"
)

// TestLastEventIDAcrossReconnect: a connection remembers the last id it was
// given, by an event or by a position frame (which dispatches no event), as
// a browser does; an event without an id keeps it and an empty `id:` clears
// it; a reconnection keeps it and sends it as Last-Event-ID.
func TestLastEventIDAcrossReconnect(t *testing.T) {
	t.Parallel()
	steps := []struct {
		in, want string
	}{
		{"retry: 2000\n: ok\n\n", ""},
		{"id: 1700000000000-0\n\n", "1700000000000-0"}, // position frame
		{"id: 1700000000000-1\ndata: a\n\n", "1700000000000-1"},
		{"data: no id\n\n", "1700000000000-1"},
		{"id: 1700000000000-2\ndata: b\n\n: ping\n\nid: 1700000000", "1700000000000-2"}, // a frame cut short
		{"000-3\n", "1700000000000-2"},                                                  // not dispatched yet
		{"\n", "1700000000000-3"},
		{"id:\n\n", ""},
		{"id: 1700000000000-4\n\nid: 1700000000000-9\ndata: half", "1700000000000-4"},
	}
	var p Parser
	var rec recorder
	for i, s := range steps {
		if err := p.Feed([]byte(s.in), &rec); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := string(p.LastEventID()); got != s.want {
			t.Fatalf("step %d (%q): last event id %q, want %q (log %q)", i, s.in, got, s.want, rec.log)
		}
	}
	// The connection drops with a frame half read: the new stream starts
	// clean and the request carries the last dispatched id.
	p.Reconnect()
	if err := p.Feed([]byte("retry: 2000\n: ok\n\n"), &rec); err != nil {
		t.Fatal(err)
	}
	if got := string(p.LastEventID()); got != "1700000000000-4" {
		t.Fatalf("after reconnect: %q", got)
	}
	gws, err := parseGateways("http://127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	req := string(gws[0].requestBytes(nil, []string{"bench:0"}, p.LastEventID()))
	if !strings.Contains(req, "\r\nLast-Event-ID: 1700000000000-4\r\n") {
		t.Fatalf("request %q has no Last-Event-ID", req)
	}
	if req := string(gws[0].requestBytes(nil, []string{"bench:0"}, nil)); strings.Contains(req, "Last-Event-ID") {
		t.Fatalf("request without an id: %q", req)
	}
	if want := []string{`position "1700000000000-0"`, `position "1700000000000-4"`}; !containsAll(rec.log, want) {
		t.Fatalf("log %q lacks %q", rec.log, want)
	}
	p.Reset()
	if len(p.LastEventID()) != 0 {
		t.Fatal("Reset keeps the last event id")
	}
}

func containsAll(log, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range log {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}
