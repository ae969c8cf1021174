package publisher

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseSpoolEventErrorNamesField checks that every refusal tells the
// caller which field is wrong, and carries the metric reason.
func TestParseSpoolEventErrorNamesField(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxFieldLen+1)
	tests := []struct {
		name   string
		body   string
		reason string
		field  string // must appear in the message
	}{
		{"missing event_type", `{"tag_spool":"SP-1"}`, "missing_field", "event_type"},
		{"unknown event_type", `{"event_type":"NOPE","tag_spool":"SP-1"}`, "unknown_event_type", "event_type"},
		{"unknown event_type value quoted", `{"event_type":"NOPE","tag_spool":"SP-1"}`, "unknown_event_type", `"NOPE"`},
		{"missing tag_spool", `{"event_type":"TOMAR"}`, "missing_field", "tag_spool"},
		{"empty tag_spool", `{"event_type":"TOMAR","tag_spool":""}`, "missing_field", "tag_spool"},
		{"tag_spool wrong type", `{"event_type":"TOMAR","tag_spool":42}`, "wrong_type", "tag_spool"},
		{"event_type wrong type", `{"event_type":false,"tag_spool":"SP-1"}`, "wrong_type", "event_type"},
		{"worker_nombre wrong type", `{"event_type":"TOMAR","tag_spool":"SP-1","worker_nombre":[]}`, "wrong_type", "worker_nombre"},
		{"estado_detalle wrong type", `{"event_type":"TOMAR","tag_spool":"SP-1","estado_detalle":1.5}`, "wrong_type", "estado_detalle"},
		{"timestamp wrong type", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":{}}`, "wrong_type", "timestamp"},
		{"tag_spool too long", `{"event_type":"TOMAR","tag_spool":"` + long + `"}`, "field_too_long", "tag_spool"},
		{"worker_nombre too long", `{"event_type":"TOMAR","tag_spool":"SP-1","worker_nombre":"` + long + `"}`, "field_too_long", "worker_nombre"},
		{"estado_detalle too long", `{"event_type":"TOMAR","tag_spool":"SP-1","estado_detalle":"` + long + `"}`, "field_too_long", "estado_detalle"},
		{"two fields too long names the first", `{"event_type":"TOMAR","tag_spool":"SP-1","estado_detalle":"` + long + `","worker_nombre":"` + long + `"}`, "field_too_long", "worker_nombre"},
		{"bad timestamp", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"nope"}`, "invalid_timestamp", "timestamp"},
		{"unknown field", `{"event_type":"TOMAR","tag_spool":"SP-1","tagSpool":"x"}`, "unknown_field", "tagSpool"},
		{"field in other case", `{"event_type":"TOMAR","TAG_SPOOL":"SP-1"}`, "unknown_field", "TAG_SPOOL"},
		{"duplicate key", `{"event_type":"TOMAR","tag_spool":"a","tag_spool":"b"}`, "duplicate_key", "tag_spool"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSpoolEvent([]byte(tc.body), fixedNow)
			var ve *validationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T), want a *validationError", err, err)
			}
			if ve.code != tc.reason {
				t.Errorf("reason %q, want %q", ve.code, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name %s", err.Error(), tc.field)
			}
		})
	}
}

// TestParseSpoolEventTimestamps checks which ISO 8601 forms are accepted
// (and kept verbatim) and which are refused.
func TestParseSpoolEventTimestamps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ts string
		ok bool
	}{
		{"2026-01-27T22:13:37Z", true},
		{"2026-01-27T22:13:37.123456+00:00", true},
		{"2026-01-27T22:13:37.123456-05:00", true},
		{"2026-01-27T22:13:37.123456", true}, // Python datetime.isoformat() without tzinfo
		{"2026-01-27T22:13:37", true},
		{"2026-01-27T22:13:37.1Z", true},
		{"2026-01-27T22:13:37+0100", true},
		{"2026-01-27T22:13:37.123456789Z", true},
		{"2026-01-27", false},
		{"22:13:37", false},
		{"2026-01-27T25:13:37Z", false},
		{"2026-02-30T22:13:37Z", false},
		{"2026-01-27T22:13:37 Z", false},
		{" 2026-01-27T22:13:37Z", false},
		{"1769552017", false},
		{"now", false},
	}
	for _, tc := range tests {
		t.Run(tc.ts, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseSpoolEvent([]byte(`{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"`+tc.ts+`"}`), fixedNow)
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "timestamp") {
					t.Fatalf("accepted %q (err %v), want an invalid timestamp error", tc.ts, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused %q: %v", tc.ts, err)
			}
			if ev.Timestamp != tc.ts {
				t.Errorf("timestamp %q, want it verbatim %q", ev.Timestamp, tc.ts)
			}
		})
	}
}

// TestParseSpoolEventFillsTimestamp checks the filled-in form: UTC with
// microseconds, whatever the zone of now.
func TestParseSpoolEventFillsTimestamp(t *testing.T) {
	t.Parallel()
	ev, stamped, err := parseSpoolEvent([]byte(`{"event_type":"TOMAR","tag_spool":"SP-1"}`), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if !stamped {
		t.Error("stamped is false for a missing timestamp")
	}
	if want := "2026-01-27T21:13:37.123456Z"; ev.Timestamp != want {
		t.Errorf("timestamp %q, want %q", ev.Timestamp, want)
	}
	if _, stamped, _ := parseSpoolEvent([]byte(`{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27T22:13:37Z"}`), fixedNow); stamped {
		t.Error("stamped is true for a timestamp the caller sent")
	}
}

// TestParseGenericEvent checks the topic length limit is the caller's and
// that what is returned is ready to publish.
func TestParseGenericEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		maxLen int
		reason string // "" = accepted
	}{
		{"within a custom limit", `{"topic":"abcd","data":1}`, 4, ""},
		{"over a custom limit", `{"topic":"abcde","data":1}`, 4, "invalid_topic"},
		{"default limit when 0", `{"topic":"` + strings.Repeat("a", 128) + `","data":1}`, 0, ""},
		{"over the default limit when 0", `{"topic":"` + strings.Repeat("a", 129) + `","data":1}`, 0, "invalid_topic"},
		{"data may be an empty string", `{"topic":"t","data":""}`, 128, ""},
		{"data may be an empty object", `{"topic":"t","data":{}}`, 128, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseGenericEvent([]byte(tc.body), tc.maxLen)
			var ve *validationError
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.reason != "" && !errors.As(err, &ve):
				t.Fatalf("error %v, want reason %s", err, tc.reason)
			case tc.reason != "" && ve.code != tc.reason:
				t.Errorf("reason %q, want %q", ve.code, tc.reason)
			}
		})
	}
}

// TestCheckJSON checks the strict checker on its own.
func TestCheckJSON(t *testing.T) {
	t.Parallel()
	errSyntax := errors.New("any syntax error")
	tests := []struct {
		name string
		in   string
		want error // nil, a sentinel, or errSyntax for any other error
	}{
		{"object", `{"a":1,"b":[true,null,"x"],"c":{"d":{}}}`, nil},
		{"scalar", `"x"`, nil},
		{"number", ` 12.5e3 `, nil},
		{"empty array", `[]`, nil},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, nil},
		{"same key at different levels", `{"a":{"a":{"a":1}}}`, nil},
		{"key equal to a value", `{"a":"a","b":"a"}`, nil},
		{"exactly 32 levels", nested(32), nil},
		{"empty input", ``, errSyntax},
		{"whitespace only", " \n\t", errSyntax},
		{"duplicate key", `{"a":1,"a":2}`, errDuplicateKey},
		{"duplicate key after nested", `{"a":{"x":1},"b":[1],"a":2}`, errDuplicateKey},
		{"duplicate key escaped", `{"a":1,"\u0061":2}`, errDuplicateKey},
		{"duplicate empty key", `{"":1,"":2}`, errDuplicateKey},
		{"33 levels", nested(33), errTooDeep},
		{"33 levels of objects", strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), errTooDeep},
		{"trailing value", `{} {}`, errTrailing},
		{"trailing scalar", `1 2`, errTrailing},
		{"trailing close", `{}]`, errTrailing},
		{"unclosed", `{"a":[1,2]`, errSyntax},
		{"missing colon", `{"a" 1}`, errSyntax},
		{"trailing comma in array", `[1,]`, errSyntax},
		{"trailing comma in object", `{"a":1,}`, errSyntax},
		{"non-string key", `{1:2}`, errSyntax},
		{"bad literal", `[tru]`, errSyntax},
		{"mismatched close", `[1}`, errSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkJSON([]byte(tc.in))
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case errors.Is(tc.want, errSyntax) && err == nil:
				t.Fatal("accepted, want a syntax error")
			case errors.Is(tc.want, errSyntax) && (errors.Is(err, errDuplicateKey) || errors.Is(err, errTooDeep) || errors.Is(err, errTrailing)):
				t.Fatalf("error %v, want a plain syntax error", err)
			case tc.want != nil && !errors.Is(tc.want, errSyntax) && !errors.Is(err, tc.want):
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestParseSpoolEventIgnoresClockZone checks the filled timestamp does not
// depend on the zone of the injected clock.
func TestParseSpoolEventIgnoresClockZone(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event_type":"TOMAR","tag_spool":"SP-1"}`)
	a, err1 := ParseSpoolEvent(body, fixedNow)
	b, err2 := ParseSpoolEvent(body, fixedNow.In(time.UTC))
	if err1 != nil || err2 != nil || a.Timestamp != b.Timestamp {
		t.Errorf("timestamps %q and %q (errors %v, %v), want equal", a.Timestamp, b.Timestamp, err1, err2)
	}
}
