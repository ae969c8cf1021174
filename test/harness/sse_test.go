package harness

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReadEvents feeds streams in one piece and one byte at a time (so a
// CR at the end of a read must wait for a possible LF) and checks what a
// browser's EventSource would see.
func TestReadEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		stream   string
		events   []Event
		lastIDs  []string // at each dispatch
		comments []string
	}{
		{
			name:    "LF",
			stream:  "id: 1\nevent: a\ndata: x\ndata: y\n\n",
			events:  []Event{{ID: "1", Name: "a", Data: "x\ny"}},
			lastIDs: []string{"1"},
		},
		{
			name:    "CRLF",
			stream:  "id: 1\r\ndata: x\r\n\r\n",
			events:  []Event{{ID: "1", Name: "message", Data: "x"}},
			lastIDs: []string{"1"},
		},
		{
			name:    "lone CR ends lines: no field injection",
			stream:  "data: hi\r\revent: admin\rdata: evil\r\r",
			events:  []Event{{Name: "message", Data: "hi"}, {Name: "admin", Data: "evil"}},
			lastIDs: []string{"", ""},
		},
		{
			name:    "byte order mark skipped once",
			stream:  "\uFEFFdata: x\n\n",
			events:  []Event{{Name: "message", Data: "x"}},
			lastIDs: []string{""},
		},
		{
			name:    "id kept across events, event id only its own",
			stream:  "id: 7\ndata: a\n\ndata: b\n\nid:\ndata: c\n\n",
			events:  []Event{{ID: "7", Name: "message", Data: "a"}, {Name: "message", Data: "b"}, {Name: "message", Data: "c"}},
			lastIDs: []string{"7", "7", ""},
		},
		{
			name:    "id with NUL ignored",
			stream:  "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			events:  []Event{{ID: "1", Name: "message", Data: "a"}, {Name: "message", Data: "b"}},
			lastIDs: []string{"1", "1"},
		},
		{
			name:    "frame without data dispatches the id only",
			stream:  "id: 5\n\n",
			lastIDs: []string{"5"},
		},
		{
			name:     "comments and retry",
			stream:   ": ping\n:bare\nretry: 3000\ndata: x\n\n",
			events:   []Event{{Name: "message", Data: "x", Retry: "3000"}},
			lastIDs:  []string{""},
			comments: []string{"ping", "bare"},
		},
		{
			name:    "cut-off frame does not count",
			stream:  "id: 1\ndata: a\n\nid: 2\ndata: b\n",
			events:  []Event{{ID: "1", Name: "message", Data: "a"}},
			lastIDs: []string{"1"},
		},
		{
			name:    "unterminated last line discarded",
			stream:  "data: a\n\ndata: b",
			events:  []Event{{Name: "message", Data: "a"}},
			lastIDs: []string{""},
		},
		{
			name:    "field without colon, empty data line",
			stream:  "data\ndata\n\n",
			events:  []Event{{Name: "message", Data: "\n"}},
			lastIDs: []string{""},
		},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
	}
	for _, tc := range tests {
		for _, rd := range readers {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				var events []Event
				var lastIDs, comments []string
				err := ReadEvents(rd.wrap(strings.NewReader(tc.stream)), Handler{
					Dispatch: func(id string) { lastIDs = append(lastIDs, id) },
					Event:    func(ev Event) { events = append(events, ev) },
					Comment:  func(c string) { comments = append(comments, c) },
				})
				if !errors.Is(err, io.EOF) {
					t.Errorf("ReadEvents = %v, want io.EOF", err)
				}
				if !slices.Equal(events, tc.events) {
					t.Errorf("events = %+v, want %+v", events, tc.events)
				}
				if !slices.Equal(lastIDs, tc.lastIDs) {
					t.Errorf("last ids at dispatch = %q, want %q", lastIDs, tc.lastIDs)
				}
				if !slices.Equal(comments, tc.comments) {
					t.Errorf("comments = %q, want %q", comments, tc.comments)
				}
			})
		}
	}
}

// TestReadEventsReadError: a failing reader's error is returned as is.
func TestReadEventsReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	err := ReadEvents(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), Handler{})
	if !errors.Is(err, boom) {
		t.Fatalf("ReadEvents = %v, want %v", err, boom)
	}
}
