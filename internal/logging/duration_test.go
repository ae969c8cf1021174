package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestDurationsReadable: a duration is written as Go writes it ("100ms"),
// not as integer nanoseconds, in JSON and in text, also inside a group.
func TestDurationsReadable(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := New(&buf, format, "info")
			if err != nil {
				t.Fatal(err)
			}
			log.Warn("redis subscription lost", "retry_in", 100*time.Millisecond,
				slog.Group("grace", "left", 90*time.Second), slog.Any("any", 2*time.Second))
			line := buf.String()
			if format == "text" {
				for _, want := range []string{"retry_in=100ms", "grace.left=1m30s", "any=2s"} {
					if !strings.Contains(line, want) {
						t.Errorf("text line %q lacks %q", line, want)
					}
				}
				return
			}
			var rec struct {
				RetryIn any `json:"retry_in"`
				Grace   struct {
					Left any `json:"left"`
				} `json:"grace"`
				Any any `json:"any"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.RetryIn != "100ms" || rec.Grace.Left != "1m30s" || rec.Any != "2s" {
				t.Fatalf("durations %v, %v, %v in %s; want \"100ms\", \"1m30s\", \"2s\"", rec.RetryIn, rec.Grace.Left, rec.Any, line)
			}
		})
	}
}
