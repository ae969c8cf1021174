package client

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ssegate/ssegate/internal/sse"
)

// decodeAll runs the decoder over in and returns its events and final
// last event ID.
func decodeAll(t *testing.T, in io.Reader) ([]frame, string, time.Duration) {
	t.Helper()
	d := newDecoder(in, "")
	var out []frame
	for {
		f, err := d.next()
		if errors.Is(err, io.EOF) {
			return out, d.lastID, d.retry
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		out = append(out, f)
	}
}

// TestDecodeWHATWG checks the parsing rules of WHATWG HTML §9.2.6, each
// input also fed one byte at a time (a CR at the end of one read and its
// LF in the next must still be one line end).
func TestDecodeWHATWG(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []frame
		lastID string
		retry  time.Duration
	}{
		{"gateway first bytes: position frame sets the id, dispatches nothing",
			"retry: 2000\n: ok\n\nid: 0-0\n\n", nil, "0-0", 2 * time.Second},
		{"LF", "id: 1-0\ndata: a\n\n",
			[]frame{{id: "1-0", hasID: true, typ: "message", data: "a"}}, "1-0", 0},
		{"CRLF", "id: 1-0\r\ndata: a\r\ndata: b\r\n\r\n",
			[]frame{{id: "1-0", hasID: true, typ: "message", data: "a\nb"}}, "1-0", 0},
		{"lone CR", "event: x\rdata: a\r\r",
			[]frame{{typ: "x", data: "a"}}, "", 0},
		{"BOM skipped once", "\xEF\xBB\xBFdata: a\n\n",
			[]frame{{typ: "message", data: "a"}}, "", 0},
		{"no space after colon, only one space removed", "data:a\ndata:  b\n\n",
			[]frame{{typ: "message", data: "a\n b"}}, "", 0},
		{"field without colon", "data\ndata\n\n",
			[]frame{{typ: "message", data: "\n"}}, "", 0},
		{"id with NUL ignored", "id: 1-0\n\nid: a\x00b\ndata: x\n\n",
			[]frame{{id: "1-0", typ: "message", data: "x"}}, "1-0", 0},
		{"empty id resets", "id: 1-0\n\nid\ndata: x\n\n",
			[]frame{{id: "", hasID: true, typ: "message", data: "x"}}, "", 0},
		{"id persists to events without id", "id: 5-0\ndata: a\n\ndata: raw\n\n",
			[]frame{{id: "5-0", hasID: true, typ: "message", data: "a"}, {id: "5-0", typ: "message", data: "raw"}}, "5-0", 0},
		{"invalid retry ignored", "retry: 10\nretry: 1x\nretry: -5\n\n", nil, "", 10 * time.Millisecond},
		{"unknown fields and comments ignored", ": hi\nfoo: bar\ndata: a\n\n",
			[]frame{{typ: "message", data: "a"}}, "", 0},
		{"event without blank line at EOF discarded", "data: a\n\nid: 9-0\ndata: b\n",
			[]frame{{typ: "message", data: "a"}}, "", 0},
		{"reset event", "id: 7-0\nevent: reset\ndata: {\"reason\":\"trimmed\"}\n\n",
			[]frame{{id: "7-0", hasID: true, typ: "reset", data: `{"reason":"trimmed"}`}}, "7-0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, lastID, retry := decodeAll(t, r)
				if len(got) != len(tc.want) {
					t.Fatalf("events %+v, want %+v", got, tc.want)
				}
				for i := range got {
					got[i].prev = ""
					if got[i] != tc.want[i] {
						t.Fatalf("event %d: %+v, want %+v", i, got[i], tc.want[i])
					}
				}
				if lastID != tc.lastID || retry != tc.retry {
					t.Fatalf("last id %q retry %v, want %q %v", lastID, retry, tc.lastID, tc.retry)
				}
			}
		})
	}
}

// TestDecodeLineTooLong: a line without end beyond the limit is an error,
// not unbounded memory.
func TestDecodeLineTooLong(t *testing.T) {
	t.Parallel()
	d := newDecoder(io.MultiReader(strings.NewReader("data: "), neverEnding('x')), "")
	d.max = 64 << 10 // the limit's logic, without reading 16 MiB byte by byte under -race
	if _, err := d.next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// FuzzDecodeEncoded: whatever the gateway's encoder (internal/sse) frames,
// the decoder gives back exactly: the id, the event name and the data with
// its line ends normalised to LF.
func FuzzDecodeEncoded(f *testing.F) {
	f.Add("1-0", "", "hello")
	f.Add("1-0_2-0", "reset", "a\r\nb\rc\nd")
	f.Add("", "x", "")
	f.Fuzz(func(t *testing.T, id, name, data string) {
		sid, err1 := sse.NewID(id)
		sname, err2 := sse.NewEventName(name)
		if err1 != nil || err2 != nil {
			return
		}
		wire := sse.AppendComment(sse.AppendEvent(nil, sid, sname, []byte(data)), "ping")
		d := newDecoder(strings.NewReader(string(wire)), "")
		got, err := d.next()
		if err != nil {
			t.Fatalf("decode %q: %v", wire, err)
		}
		want := strings.ToValidUTF8(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data), "\uFFFD")
		wantName := strings.ToValidUTF8(name, "\uFFFD")
		if wantName == "" {
			wantName = TypeMessage
		}
		if got.prev != "" {
			t.Fatalf("prev %q on the first event", got.prev)
		}
		if got.data != want || got.typ != wantName || got.id != strings.ToValidUTF8(id, "\uFFFD") {
			t.Fatalf("decode %q = %+v, want id %q type %q data %q", wire, got, id, wantName, want)
		}
	})
}
