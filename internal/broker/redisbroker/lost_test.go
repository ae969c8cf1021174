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
		want  string
	}{
		{"inside retained range", trimmed, id(150, 0), ""},
		{"at the newest entry", trimmed, id(200, 0), ""},
		{"ahead of the stream", trimmed, id(201, 0), "unknown_stream"},
		{"before the first retained entry", trimmed, id(50, 0), "trimmed"},
		{"zero after trimming", trimmed, streamid.Zero, "trimmed"},
		{"exact predecessor of first", trimmed, id(99, ^uint64(0)), ""},
		{"first entry itself", trimmed, id(100, 0), ""},
		{"recreated stream", fresh, id(120, 0), "unknown_stream"},
		{"recreated stream, zero position", fresh, streamid.Zero, ""},
		{"xdel past the position", streamState{last: id(200, 0), maxDel: id(180, 0), first: id(100, 0), hasFirst: true, added: 101, length: 100}, id(150, 0), "trimmed"},
		{"emptied stream behind the position", streamState{last: id(200, 0), added: 10}, id(150, 0), "trimmed"},
		{"emptied stream at the position", streamState{last: id(200, 0), added: 10}, id(200, 0), ""},
		{"redis without entries-added", streamState{last: id(200, 0), first: id(100, 0), hasFirst: true, added: -1, length: 101}, id(50, 0), "trimmed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.st.lost(tc.after); got != tc.want {
				t.Fatalf("lost(%s) = %q, want %q", tc.after, got, tc.want)
			}
		})
	}
}
