package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// format reports how a log line was written: "json", "text" or "".
func format(line string) string {
	switch {
	case json.Valid([]byte(line)) && strings.HasPrefix(line, "{"):
		return "json"
	case strings.HasPrefix(line, "time=") && strings.Contains(line, " level="):
		return "text"
	}
	return ""
}

func TestNewFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format, want string
	}{
		{"json", "json"},
		{"JSON", "json"},
		{"text", "text"},
		{"auto", "json"}, // a buffer is not a terminal
		{"", "json"},     // empty = auto
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := New(&buf, tc.format, "info")
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			log.Info("hello", "conn", "c-1")
			line := strings.TrimSpace(buf.String())
			if got := format(line); got != tc.want {
				t.Fatalf("format %q, want %q: %s", got, tc.want, line)
			}
			if tc.want == "json" {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				for k, v := range map[string]any{"level": "INFO", "msg": "hello", "conn": "c-1"} {
					if rec[k] != v {
						t.Errorf("%s = %v, want %v", k, rec[k], v)
					}
				}
				if _, ok := rec["time"]; !ok {
					t.Error("no time field")
				}
			} else if !strings.Contains(line, "level=INFO msg=hello conn=c-1") {
				t.Errorf("text line %q", line)
			}
		})
	}
}

// TestNewAutoDetectsTerminal checks auto against real file descriptors: a
// pipe (a container's stdout) gets JSON, a pseudo-terminal gets text.
func TestNewAutoDetectsTerminal(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is taken for a terminal")
	}
	if log, err := New(w, "auto", "info"); err != nil {
		t.Fatal(err)
	} else if _, ok := log.Handler().(*slog.JSONHandler); !ok {
		t.Errorf("auto on a pipe: %T, want JSON", log.Handler())
	}

	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with: %v", err)
	}
	defer pty.Close()
	if !isTerminal(pty) {
		t.Fatal("a pseudo-terminal is not detected")
	}
	log, err := New(pty, "auto", "info")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := log.Handler().(*slog.TextHandler); !ok {
		t.Errorf("auto on a terminal: %T, want text", log.Handler())
	}
	// An explicit format wins over detection.
	if log, _ := New(pty, "json", "info"); log != nil {
		if _, ok := log.Handler().(*slog.JSONHandler); !ok {
			t.Errorf("json on a terminal: %T, want JSON", log.Handler())
		}
	}
}

func TestNewLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"DEBUG", slog.LevelDebug},
		{" Warn ", slog.LevelWarn},
	} {
		t.Run(tc.level, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := New(&buf, "json", tc.level)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
				if got, want := log.Enabled(t.Context(), l), l >= tc.want; got != want {
					t.Errorf("Enabled(%v) = %v, want %v", l, got, want)
				}
			}
			log.Debug("d")
			log.Error("e")
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			wantLines := 1
			if tc.want == slog.LevelDebug {
				wantLines = 2
			}
			if len(lines) != wantLines {
				t.Errorf("%d lines written, want %d: %q", len(lines), wantLines, lines)
			}
		})
	}
}

func TestNewRejectsBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, format, level, wantErr string
	}{
		{"unknown format", "xml", "info", `log format "xml"`},
		{"logfmt is not a format", "logfmt", "info", `log format "logfmt"`},
		{"unknown level", "json", "verbose", `log level "verbose"`},
		{"empty level", "json", "", `log level ""`},
		{"slog offset", "json", "info+2", `log level "info+2"`},
		{"numeric level", "json", "-4", `log level "-4"`},
		{"warning is not a level name", "json", "warning", `log level "warning"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, err := New(&bytes.Buffer{}, tc.format, tc.level)
			if err == nil {
				t.Fatalf("New(%q, %q) = %v, want an error", tc.format, tc.level, log)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
