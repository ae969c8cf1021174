package loadgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a Handler that logs what it is given, one entry per call.
type recorder struct{ log []string }

func (r *recorder) HandleEvent(ev Event) {
	id := "-"
	if ev.HasID {
		id = fmt.Sprintf("%q", ev.ID)
	}
	r.log = append(r.log, fmt.Sprintf("event id=%s type=%q data=%q", id, ev.Type, ev.Data))
}
func (r *recorder) HandleComment(text []byte) { r.log = append(r.log, fmt.Sprintf("comment %q", text)) }
func (r *recorder) HandleRetry(ms int64)      { r.log = append(r.log, fmt.Sprintf("retry %d", ms)) }
func (r *recorder) HandlePosition(id []byte)  { r.log = append(r.log, fmt.Sprintf("position %q", id)) }

var parserCases = []struct {
	name string
	in   string
	want []string
}{
	{
		name: "stream preamble and ping",
		in:   "retry: 2000\n: ok\n\n: ping\n\n",
		want: []string{`retry 2000`, `comment "ok"`, `comment "ping"`},
	},
	{
		name: "event with id and type, LF",
		in:   "id: 1732650000000-0\nevent: msg\ndata: {\"seq\":1}\n\n",
		want: []string{`event id="1732650000000-0" type="msg" data="{\"seq\":1}"`},
	},
	{
		name: "CRLF line endings",
		in:   "id: 1-0\r\ndata: a\r\n\r\ndata: b\r\n\r\n",
		want: []string{`event id="1-0" type="" data="a"`, `event id=- type="" data="b"`},
	},
	{
		name: "lone CR line endings",
		in:   "id: 1-0\rdata: a\r\rdata: b\r\r",
		want: []string{`event id="1-0" type="" data="a"`, `event id=- type="" data="b"`},
	},
	{
		name: "mixed endings",
		in:   "data: a\r\ndata: b\rdata: c\n\r\n",
		want: []string{`event id=- type="" data="a\nb\nc"`},
	},
	{
		name: "multiple data lines joined with LF",
		in:   "data: line1\ndata: line2\ndata:\ndata:  two spaces\n\n",
		want: []string{`event id=- type="" data="line1\nline2\n\n two spaces"`},
	},
	{
		name: "empty data line still dispatches",
		in:   "data\n\n",
		want: []string{`event id=- type="" data=""`},
	},
	{
		name: "no data: no event dispatched, only the position; type reset",
		in:   "event: x\nid: 5-0\n\ndata: y\n\n",
		want: []string{`position "5-0"`, `event id=- type="" data="y"`},
	},
	{
		name: "field without space after colon",
		in:   "data:x\nevent:t\n\n",
		want: []string{`event id=- type="t" data="x"`},
	},
	{
		name: "unknown fields and bad retry ignored",
		in:   "foo: bar\nretry: 12a\nretry:\ndata: z\n\n",
		want: []string{`event id=- type="" data="z"`},
	},
	{
		name: "id with NUL ignored",
		in:   "id: a\x00b\ndata: z\n\n",
		want: []string{`event id=- type="" data="z"`},
	},
	{
		name: "leading BOM stripped",
		in:   "\xEF\xBB\xBFdata: bom\n\n",
		want: []string{`event id=- type="" data="bom"`},
	},
	{
		name: "comment without space",
		in:   ":x\n\n",
		want: []string{`comment "x"`},
	},
	{
		name: "incomplete trailing event not dispatched",
		in:   "data: a\n\ndata: b\n",
		want: []string{`event id=- type="" data="a"`},
	},
	{
		name: "injection attempt split by CR stays data of separate lines",
		in:   "data: hi\rdata: event: admin\n\n",
		want: []string{`event id=- type="" data="hi\nevent: admin"`},
	},
}

func TestParserWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range parserCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p Parser
			var r recorder
			if err := p.Feed([]byte(tc.in), &r); err != nil {
				t.Fatalf("Feed: %v", err)
			}
			assertLog(t, r.log, tc.want)
		})
	}
}

// TestParserSplitEverywhere feeds every input in two pieces split at every
// byte offset, and byte by byte: the result must not depend on how the
// stream was cut into reads.
func TestParserSplitEverywhere(t *testing.T) {
	t.Parallel()
	for _, tc := range parserCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for cut := 0; cut <= len(tc.in); cut++ {
				var p Parser
				var r recorder
				if err := p.Feed([]byte(tc.in[:cut]), &r); err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if err := p.Feed([]byte(tc.in[cut:]), &r); err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if !equalLog(r.log, tc.want) {
					t.Fatalf("cut at %d:\n got %q\nwant %q", cut, r.log, tc.want)
				}
			}
			var p Parser
			var r recorder
			for i := 0; i < len(tc.in); i++ {
				if err := p.Feed([]byte{tc.in[i]}, &r); err != nil {
					t.Fatalf("byte %d: %v", i, err)
				}
			}
			assertLog(t, r.log, tc.want)
		})
	}
}

func TestParserLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
	}{
		{"one long line", []string{"data: " + strings.Repeat("x", MaxEventBytes+1)}},
		{"long line in pieces", []string{"data: ", strings.Repeat("x", MaxEventBytes/2), strings.Repeat("x", MaxEventBytes/2+1)}},
		{"many data lines", []string{strings.Repeat("data: "+strings.Repeat("x", 1000)+"\n", MaxEventBytes/1000+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p Parser
			var r recorder
			var err error
			for _, s := range tc.in {
				if err = p.Feed([]byte(s), &r); err != nil {
					break
				}
			}
			if !errors.Is(err, ErrEventTooLarge) {
				t.Fatalf("err = %v, want ErrEventTooLarge", err)
			}
		})
	}
}

func TestParserReleasesLargeBuffers(t *testing.T) {
	t.Parallel()
	var p Parser
	var r recorder
	big := "data: " + strings.Repeat("y", 3*retainBytes) + "\n\n"
	if err := p.Feed([]byte(big[:100]), &r); err != nil {
		t.Fatal(err)
	}
	if err := p.Feed([]byte(big[100:]), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.log) != 1 {
		t.Fatalf("got %d entries", len(r.log))
	}
	if cap(p.data) > retainBytes || cap(p.line) > retainBytes {
		t.Fatalf("parser kept %d/%d bytes", cap(p.data), cap(p.line))
	}
}

func TestParserNoAllocs(t *testing.T) {
	in := []byte("id: 1732650000000-5\ndata: {\"seq\":1,\"topic_index\":0,\"sent_unix_nano\":1}\n\n: ping\n\n")
	var p Parser
	var h nopHandler
	_ = p.Feed(in, h) // grow the buffers once
	if n := testing.AllocsPerRun(100, func() { _ = p.Feed(in, h) }); n != 0 {
		t.Fatalf("Feed allocates %v times per call", n)
	}
}

type nopHandler struct{}

func (nopHandler) HandleEvent(Event)     {}
func (nopHandler) HandleComment([]byte)  {}
func (nopHandler) HandleRetry(int64)     {}
func (nopHandler) HandlePosition([]byte) {}

func BenchmarkParser(b *testing.B) {
	var sb strings.Builder
	for i := range 100 {
		fmt.Fprintf(&sb, "id: 1732650000000-%d\ndata: {\"seq\":%d,\"topic_index\":3,\"sent_unix_nano\":1732650000000000000,\"pad\":\"%s\"}\n\n", i, i, strings.Repeat("x", 40))
		if i%10 == 0 {
			sb.WriteString(": ping\n\n")
		}
	}
	in := []byte(sb.String())
	for _, chunk := range []int{len(in), 1400, 100} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			var p Parser
			var h nopHandler
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				for off := 0; off < len(in); off += chunk {
					_ = p.Feed(in[off:min(off+chunk, len(in))], h)
				}
			}
		})
	}
}

func equalLog(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func assertLog(t *testing.T, got, want []string) {
	t.Helper()
	if !equalLog(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}
