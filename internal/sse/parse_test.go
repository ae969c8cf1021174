package sse

import (
	"strings"
)

// parsedEvent is what a conforming parser dispatches.
type parsedEvent struct {
	ID, Name, Data string
}

// parse is a reference parser written from WHATWG HTML §9.2.6 "Interpreting
// an event stream". It is only used by tests to check what a browser would
// see for the bytes the encoder produced.
func parse(stream string) (events []parsedEvent, lastID string) {
	var data strings.Builder
	var name string
	hasData := false
	lines := splitLines(stream)
	for _, line := range lines {
		if line == "" {
			if hasData {
				d := data.String()
				d = strings.TrimSuffix(d, "\n")
				events = append(events, parsedEvent{ID: lastID, Name: name, Data: d})
			}
			data.Reset()
			name = ""
			hasData = false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			name = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				lastID = value
			}
		}
	}
	return events, lastID
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			out = append(out, s[start:i])
			start = i + 1
		case '\r':
			out = append(out, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	// An incomplete last line is not processed by a parser.
	return out
}
