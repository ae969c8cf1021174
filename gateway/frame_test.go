package gateway

import (
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// TestLiveAndReplayFramesMatch checks that an event reads the same on the
// wire whether it is written live (newFrame, and render's id in front of
// the shared body on multi-topic streams) or replayed from history
// (appendEntry): a client must not see a difference after a reconnect.
func TestLiveAndReplayFramesMatch(t *testing.T) {
	t.Parallel()
	id := streamid.ID{Ms: 1700000000000, Seq: 7}
	other := streamid.ID{Ms: 1700000000001, Seq: 2}
	tests := []struct {
		name, event string
		data        string
	}{
		{"message", "", "hello"},
		{"named, multi-line", "price", "a\r\nb\rc\nd"},
		{"invalid name dropped", "bad\nname", "x"},
		{"empty data", "ping", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := broker.Entry{ID: id, Event: tt.event, Data: []byte(tt.data)}
			f := newFrame("a", id, true, tt.event, []byte(tt.data), time.Time{})
			if live, replay := string(f.full), string(appendEntry(nil, positions{id}, e, false)); live != replay {
				t.Fatalf("single topic: live %q, replay %q", live, replay)
			}
			pos := positions{id, other}
			live := string(append(appendFrameID(nil, id, pos, true), f.body...))
			replay := string(appendEntry(nil, pos, e, true))
			want := "id: " + streamid.Position(pos).String() + "\n" + string(f.body)
			if live != replay || live != want {
				t.Fatalf("multi topic: live %q, replay %q, want %q", live, replay, want)
			}
		})
	}
}
