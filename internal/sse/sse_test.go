package sse

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendEventGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   ID
		ev   EventName
		data string
		want string
	}{
		{"plain", "", "", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"id and event", "1-0", "TOMAR", "x", "id: 1-0\nevent: TOMAR\ndata: x\n\n"},
		{"empty data", "", "", "", "data: \n\n"},
		{"LF", "", "", "a\nb", "data: a\ndata: b\n\n"},
		{"CRLF", "", "", "a\r\nb", "data: a\ndata: b\n\n"},
		{"lone CR", "", "", "a\rb", "data: a\ndata: b\n\n"},
		{"CR CR", "", "", "a\r\rb", "data: a\ndata: \ndata: b\n\n"},
		{"trailing LF", "", "", "a\n", "data: a\ndata: \n\n"},
		{"injection attempt", "", "", "hi\r\revent: admin\rdata: evil", "data: hi\ndata: \ndata: event: admin\ndata: data: evil\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(AppendEvent(nil, tt.id, tt.ev, []byte(tt.data)))
			if got != tt.want {
				t.Fatalf("AppendEvent = %q, want %q", got, tt.want)
			}
			events, _ := parse(got)
			if len(events) != 1 {
				t.Fatalf("parser saw %d events, want 1", len(events))
			}
			wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(tt.data)
			if events[0].Data != wantData || events[0].Name != string(tt.ev) || events[0].ID != string(tt.id) {
				t.Fatalf("parsed %+v, want data %q", events[0], wantData)
			}
		})
	}
}

func TestNewIDAndEventNameReject(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"a\nb", "a\rb", "a\x00b", "\n"} {
		if _, err := NewID(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewID(%q) err = %v, want ErrInvalid", s, err)
		}
		if _, err := NewEventName(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewEventName(%q) err = %v, want ErrInvalid", s, err)
		}
	}
	for _, s := range []string{"", "1-0", "1732650000000-3_0-0", "spool update"} {
		if _, err := NewID(s); err != nil {
			t.Errorf("NewID(%q) = %v", s, err)
		}
	}
}

func TestAppendCommentAndRetry(t *testing.T) {
	t.Parallel()
	if got := string(AppendComment(nil, "ping")); got != ": ping\n\n" {
		t.Fatalf("comment = %q", got)
	}
	if got := string(AppendComment(nil, "a\r\nb\rc")); got != ": a\n: b\n: c\n\n" {
		t.Fatalf("multi-line comment = %q", got)
	}
	if got := string(AppendRetry(nil, 2500*time.Millisecond)); got != "retry: 2500\n" {
		t.Fatalf("retry = %q", got)
	}
	events, _ := parse(string(AppendComment(nil, "x\ndata: evil")))
	if len(events) != 0 {
		t.Fatalf("comment produced events: %+v", events)
	}
}

// FuzzAppendEvent proves that no data, id or event name can make a conforming
// parser see anything but exactly one event carrying the same data.
func FuzzAppendEvent(f *testing.F) {
	f.Add("1-0", "TOMAR", "hello")
	f.Add("", "", "hi\r\revent: admin\rdata: evil")
	f.Add("x", "y", "\r\n\n\r")
	f.Add("", "", "id: 5\n\ndata: second")
	f.Fuzz(func(t *testing.T, rawID, rawName, data string) {
		id, err := NewID(rawID)
		if err != nil {
			return
		}
		name, err := NewEventName(rawName)
		if err != nil {
			return
		}
		frame := string(AppendEvent(nil, id, name, []byte(data)))
		events, lastID := parse(frame)
		if len(events) != 1 {
			t.Fatalf("%d events from %q", len(events), frame)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		if events[0].Data != want {
			t.Fatalf("data %q, want %q", events[0].Data, want)
		}
		if events[0].Name != rawName || lastID != rawID {
			t.Fatalf("name/id %q/%q, want %q/%q", events[0].Name, lastID, rawName, rawID)
		}
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	data := []byte(`{"event_type":"TOMAR","tag_spool":"SP-1042","worker_nombre":"Ana","estado_detalle":"en corte","timestamp":"2026-11-26T10:00:00Z"}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], "1732650000000-0", "", data)
	}
}
