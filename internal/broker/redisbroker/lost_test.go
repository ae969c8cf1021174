package redisbroker

import (
	"testing"

	"github.com/ssegate/ssegate/internal/streamid"
)

// TestStreamStateLost pins the decision History makes from a stream's
// bookkeeping, including the cases a real Redis produces only with effort
// (XDEL, an emptied stream, Redis without entries-added).
func TestStreamStateLost(t *testing.T) {
	t.Parallel()
	id := func(ms, seq uint64) streamid.ID { return streamid.ID{Ms: ms, Seq: seq} }
	// A stream that kept 100-0..200-0 of 300 added entries.
	trimmed := streamState{last: id(200, 0), first: id(100, 0), hasFirst: true, added: 300, length: 101}
	// A stream recreated after the client's position: nothing ever removed.
	fresh := streamState{last: id(200, 0), first: id(150, 0), hasFirst: true, added: 51, length: 51}
	tests := []struct {
		name  string
		st    streamState
		after streamid.ID
		held  bool // after is an entry of the stream
		want  string
	}{
		{"inside retained range", trimmed, id(150, 0), true, ""},
		{"inside retained range, never an entry", trimmed, id(150, 0), false, "unknown_stream"},
		{"at the newest entry", trimmed, id(200, 0), true, ""},
		{"ahead of the stream", trimmed, id(201, 0), false, "unknown_stream"},
		{"before the first retained entry", trimmed, id(50, 0), false, "trimmed"},
		{"zero after trimming", trimmed, streamid.Zero, false, "trimmed"},
		{"exact predecessor of first", trimmed, id(99, ^uint64(0)), false, ""},
		{"first entry itself", trimmed, id(100, 0), true, ""},
		{"recreated stream", fresh, id(120, 0), false, "unknown_stream"},
		{"recreated stream, position inside its range", fresh, id(170, 0), false, "unknown_stream"},
		{"recreated stream, zero position", fresh, streamid.Zero, false, ""},
		{"xdel past the position", streamState{last: id(200, 0), maxDel: id(180, 0), first: id(100, 0), hasFirst: true, added: 101, length: 100}, id(150, 0), false, "trimmed"},
		{"xdel of the position itself", streamState{last: id(200, 0), maxDel: id(150, 0), first: id(100, 0), hasFirst: true, added: 101, length: 100}, id(150, 0), false, ""},
		{"emptied stream behind the position", streamState{last: id(200, 0), added: 10}, id(150, 0), false, "trimmed"},
		{"emptied stream at the position", streamState{last: id(200, 0), added: 10}, id(200, 0), false, ""},
		{"redis without entries-added", streamState{last: id(200, 0), first: id(100, 0), hasFirst: true, added: -1, length: 101}, id(50, 0), false, "trimmed"},
		{"redis without entries-added, inside", streamState{last: id(200, 0), first: id(100, 0), hasFirst: true, added: -1, length: 101}, id(150, 0), true, ""},
		// Before Redis 7 an XDEL'd position cannot be told from a foreign one.
		{"redis without entries-added, inside, not an entry", streamState{last: id(200, 0), first: id(100, 0), hasFirst: true, added: -1, length: 101}, id(150, 0), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.st.lost(tc.after, tc.held); got != tc.want {
				t.Fatalf("lost(%s) = %q, want %q", tc.after, got, tc.want)
			}
		})
	}
}
