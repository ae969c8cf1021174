package publisher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// badRequestCase is one refused request and the exact answer it must get.
type badRequestCase struct {
	name   string
	req    request
	status int
	code   string
}

// testMaxBody is the body limit of the handler tests: small, so bodies over
// it stay well within what the server drains before answering.
const testMaxBody = 2048

// commonBadRequests are refusals both routes share; body is a valid body
// for the route, used where only the framing is wrong.
func commonBadRequests(path, valid string) []badRequestCase {
	big := `{"x":"` + strings.Repeat("a", testMaxBody) + `"}`
	return []badRequestCase{
		{"malformed JSON", request{body: `{"a":`}, 400, "invalid_json"},
		{"not JSON", request{body: `hello`}, 400, "invalid_json"},
		{"empty body", request{body: ``}, 400, "invalid_json"},
		{"whitespace body", request{body: " \r\n\t "}, 400, "invalid_json"},
		{"array body", request{body: `[1,2]`}, 400, "wrong_type"},
		{"string body", request{body: `"x"`}, 400, "wrong_type"},
		{"number body", request{body: `12`}, 400, "wrong_type"},
		{"truncated body", request{body: valid[:len(valid)-3]}, 400, "invalid_json"},
		{"trailing object", request{body: valid + `{}`}, 400, "invalid_json"},
		{"trailing garbage", request{body: valid + ` x`}, 400, "invalid_json"},
		{"trailing brace", request{body: valid + `}`}, 400, "invalid_json"},
		{"two objects on lines", request{body: valid + "\n" + valid}, 400, "invalid_json"},
		{"invalid UTF-8", request{body: `{"zz":"` + "\xff\xfe" + `"}`}, 400, "invalid_json"},
		{"unknown field", request{body: valid[:len(valid)-1] + `,"extra":1}`}, 400, "unknown_field"},
		{"unknown field differing in case only", request{body: valid[:len(valid)-1] + `,"Extra":1}`}, 400, "unknown_field"},
		{"duplicate unknown key", request{body: valid[:len(valid)-1] + `,"x":1,"x":2}`}, 400, "duplicate_key"},
		{"duplicate key in nested object", request{body: valid[:len(valid)-1] + `,"x":{"a":1,"b":{"c":1,"c":2}}}`}, 400, "duplicate_key"},
		{"nesting 33 deep", request{body: valid[:len(valid)-1] + `,"x":` + nested(32) + `}`}, 400, "too_deep"},
		{"nesting 1000 deep", request{body: `{"x":` + nested(1000) + `}`}, 400, "too_deep"},
		{"number beyond float64", request{body: `{"event_type":"TOMAR","tag_spool":"S","worker_nombre":"a","x":1e999}`}, 400, "number_out_of_range"},
		{"no Content-Type", request{contentType: "-", body: valid}, 415, "unsupported_media_type"},
		{"text/plain", request{contentType: "text/plain", body: valid}, 415, "unsupported_media_type"},
		{"form", request{contentType: "application/x-www-form-urlencoded", body: valid}, 415, "unsupported_media_type"},
		{"application/jsonx", request{contentType: "application/jsonx", body: valid}, 415, "unsupported_media_type"},
		{"malformed media type", request{contentType: "application/json; charset", body: valid}, 415, "unsupported_media_type"},
		{"over the limit with Content-Length", request{body: big}, 413, "body_too_large"},
		{"over the limit chunked", request{body: big, chunked: true}, 413, "body_too_large"},
		{"over the limit by one byte chunked", request{body: valid + strings.Repeat(" ", testMaxBody+1-len(valid)), chunked: true}, 413, "body_too_large"},
		{"Idempotency-Key with a space", request{body: valid, header: map[string]string{"Idempotency-Key": "a b"}}, 400, "invalid_idempotency_key"},
		{"Idempotency-Key of 256 bytes", request{body: valid, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, "invalid_idempotency_key"},
		{"Idempotency-Key not ASCII", request{body: valid, header: map[string]string{"Idempotency-Key": "clé"}}, 400, "invalid_idempotency_key"},
		{"Idempotency-Key with a tab", request{body: valid, header: map[string]string{"Idempotency-Key": "a\tb"}}, 400, "invalid_idempotency_key"},
	}
}

func spoolBadRequests() []badRequestCase {
	js := func(name, body, code string) badRequestCase {
		return badRequestCase{name, request{body: body}, 400, code}
	}
	long := strings.Repeat("x", maxFieldLen+1)
	return []badRequestCase{
		js("null body", `null`, "missing_field"),
		js("empty object", `{}`, "missing_field"),
		js("missing event_type", `{"tag_spool":"SP-1"}`, "missing_field"),
		js("null event_type", `{"event_type":null,"tag_spool":"SP-1"}`, "missing_field"),
		js("missing tag_spool", `{"event_type":"TOMAR"}`, "missing_field"),
		js("null tag_spool", `{"event_type":"TOMAR","tag_spool":null}`, "missing_field"),
		js("empty tag_spool", `{"event_type":"TOMAR","tag_spool":""}`, "missing_field"),
		js("blank tag_spool", `{"event_type":"TOMAR","tag_spool":" \t "}`, "missing_field"),
		js("unknown event_type", `{"event_type":"BORRAR","tag_spool":"SP-1"}`, "unknown_event_type"),
		js("lower-case event_type", `{"event_type":"tomar","tag_spool":"SP-1"}`, "unknown_event_type"),
		js("empty event_type", `{"event_type":"","tag_spool":"SP-1"}`, "unknown_event_type"),
		js("number tag_spool", `{"event_type":"TOMAR","tag_spool":42}`, "wrong_type"),
		js("number event_type", `{"event_type":1,"tag_spool":"SP-1"}`, "wrong_type"),
		js("bool worker_nombre", `{"event_type":"TOMAR","tag_spool":"SP-1","worker_nombre":true}`, "wrong_type"),
		js("object estado_detalle", `{"event_type":"TOMAR","tag_spool":"SP-1","estado_detalle":{}}`, "wrong_type"),
		js("array tag_spool", `{"event_type":"TOMAR","tag_spool":["SP-1"]}`, "wrong_type"),
		js("number timestamp", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":1769552017}`, "wrong_type"),
		js("tag_spool too long", `{"event_type":"TOMAR","tag_spool":"`+long+`"}`, "field_too_long"),
		js("worker_nombre too long", `{"event_type":"TOMAR","tag_spool":"SP-1","worker_nombre":"`+long+`"}`, "field_too_long"),
		js("timestamp not a date", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"yesterday"}`, "invalid_timestamp"),
		js("timestamp month 13", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-13-01T00:00:00Z"}`, "invalid_timestamp"),
		js("timestamp date only", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27"}`, "invalid_timestamp"),
		js("timestamp with a newline", `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27T22:13:37Z\n"}`, "invalid_timestamp"),
		js("duplicate event_type", `{"event_type":"TOMAR","event_type":"PAUSAR","tag_spool":"SP-1"}`, "duplicate_key"),
		js("duplicate tag_spool", `{"event_type":"TOMAR","tag_spool":"SP-1","tag_spool":"SP-2"}`, "duplicate_key"),
		// encoding/json matches keys case-insensitively: a second spelling
		// would silently overwrite the first, so it must be refused.
		js("event_type twice in different case", `{"event_type":"TOMAR","EVENT_TYPE":"PAUSAR","tag_spool":"SP-1"}`, "unknown_field"),
		js("Tag_Spool spelling", `{"event_type":"TOMAR","Tag_Spool":"SP-1"}`, "unknown_field"),
	}
}

func genericBadRequests() []badRequestCase {
	js := func(name, body, code string) badRequestCase {
		return badRequestCase{name, request{body: body}, 400, code}
	}
	return []badRequestCase{
		js("null body", `null`, "missing_field"),
		js("empty object", `{}`, "missing_field"),
		js("missing topic", `{"data":1}`, "missing_field"),
		js("null topic", `{"topic":null,"data":1}`, "missing_field"),
		js("missing data", `{"topic":"t"}`, "missing_field"),
		js("missing data with type", `{"topic":"t","type":"x"}`, "missing_field"),
		js("number topic", `{"topic":7,"data":1}`, "wrong_type"),
		js("number type", `{"topic":"t","type":7,"data":1}`, "wrong_type"),
		js("empty topic", `{"topic":"","data":1}`, "invalid_topic"),
		js("topic with a space", `{"topic":"a b","data":1}`, "invalid_topic"),
		js("topic with a brace", `{"topic":"a{b}","data":1}`, "invalid_topic"),
		js("topic with a star", `{"topic":"a*","data":1}`, "invalid_topic"),
		js("topic too long", `{"topic":"`+strings.Repeat("t", 129)+`","data":1}`, "invalid_topic"),
		js("topic not ASCII", `{"topic":"café","data":1}`, "invalid_topic"),
		js("topic lone surrogate escape", `{"topic":"a\udc80","data":1}`, "invalid_topic"),
		js("topic with a newline escape", `{"topic":"a\nb","data":1}`, "invalid_topic"),
		js("topic not UTF-8", `{"topic":"a`+"\xc3\x28"+`","data":1}`, "invalid_json"),
		js("type with a newline", `{"topic":"t","type":"a\nb","data":1}`, "invalid_type"),
		js("type with a CR", `{"topic":"t","type":"a\rb","data":1}`, "invalid_type"),
		js("type with NUL", `{"topic":"t","type":"a\u0000b","data":1}`, "invalid_type"),
		js("type too long", `{"topic":"t","type":"`+strings.Repeat("e", maxEventNameLen+1)+`","data":1}`, "invalid_type"),
		js("data without a value", `{"topic":"t","data":}`, "invalid_json"),
		js("data truncated", `{"topic":"t","data":{"a":[1,2}}`, "invalid_json"),
		js("data with a bare word", `{"topic":"t","data":hello}`, "invalid_json"),
		js("data NaN", `{"topic":"t","data":NaN}`, "invalid_json"),
		js("data with a trailing comma", `{"topic":"t","data":[1,]}`, "invalid_json"),
		js("duplicate topic", `{"topic":"a","topic":"b","data":1}`, "duplicate_key"),
		js("duplicate key in data", `{"topic":"t","data":{"a":1,"a":2}}`, "duplicate_key"),
		js("data with a 400-digit integer", `{"topic":"t","data":`+strings.Repeat("9", 400)+`}`, "number_out_of_range"),
		js("data nested 32 deep (33 with the body)", `{"topic":"t","data":`+nested(32)+`}`, "too_deep"),
		js("topic twice in different case", `{"topic":"a","Topic":"b","data":1}`, "unknown_field"),
		js("empty key", `{"topic":"t","key":"","data":1}`, "invalid_key"),
		js("key too long", `{"topic":"t","key":"`+strings.Repeat("k", 257)+`","data":1}`, "invalid_key"),
		js("key with a newline", `{"topic":"t","key":"a\nb","data":1}`, "invalid_key"),
		js("key with a control character", `{"topic":"t","key":"a\u0001b","data":1}`, "invalid_key"),
		js("key with a C1 control character", `{"topic":"t","key":"a\u0085b","data":1}`, "invalid_key"),
		js("number key", `{"topic":"t","key":7,"data":1}`, "wrong_type"),
		js("delete without a key", `{"topic":"t","delete":true,"data":1}`, "missing_field"),
		js("delete not a boolean", `{"topic":"t","key":"k","delete":"yes","data":1}`, "wrong_type"),
	}
}

// TestRefusedRequests checks every refusal's exact status and error code,
// and that nothing reached the broker.
func TestRefusedRequests(t *testing.T) {
	t.Parallel()
	validSpool := `{"event_type":"TOMAR","tag_spool":"SP-1"}`
	validGeneric := `{"topic":"orders:1","data":{"n":1}}`
	routes := []struct {
		path  string
		cases []badRequestCase
	}{
		{"/publish", append(commonBadRequests("/publish", validSpool), spoolBadRequests()...)},
		{"/v1/events", append(commonBadRequests("/v1/events", validGeneric), genericBadRequests()...)},
	}
	for _, route := range routes {
		t.Run(strings.TrimPrefix(route.path, "/"), func(t *testing.T) {
			t.Parallel()
			for _, tc := range route.cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := startServer(t, Config{MaxBodyBytes: testMaxBody})
					tc.req.path = route.path
					r := s.do(t, tc.req)
					wantError(t, r, tc.status, tc.code)
					if n := s.store.calls.Load(); n != 0 {
						t.Errorf("%d publish calls reached the broker, want 0", n)
					}
					for _, topic := range []string{SpoolTopic, "orders:1", "t", "a", "b"} {
						if h := s.history(t, topic); len(h) != 0 {
							t.Errorf("history of %q has %d events, want none", topic, len(h))
						}
					}
				})
			}
		})
	}
}

// TestEventTooLarge: the limit on event data applies to the data as it is
// stored and delivered, below the body limit, on both routes: at the limit
// it is published, one byte over gets 413 event_too_large and publishes
// nothing. A spool event's data is its re-encoding, where "<" takes six
// bytes.
func TestEventTooLarge(t *testing.T) {
	t.Parallel()
	const maxEvent = 200
	generic := func(n int) string { // data of exactly n bytes: a JSON string
		return `{"topic":"big","data":"` + strings.Repeat("x", n-2) + `"}`
	}
	spool := `{"event_type":"TOMAR","tag_spool":"SP-1","worker_nombre":"` + strings.Repeat("<", 40) + `"}`
	tests := []struct {
		name   string
		path   string
		body   string
		status int
	}{
		{"data at the limit", "/v1/events", generic(maxEvent), http.StatusAccepted},
		{"data one byte over", "/v1/events", generic(maxEvent + 1), http.StatusRequestEntityTooLarge},
		{"spool event growing past the limit when encoded", "/publish", spool, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{MaxBodyBytes: testMaxBody, MaxEventBytes: maxEvent})
			if len(tc.body) > testMaxBody {
				t.Fatalf("body of %d bytes is over the body limit", len(tc.body))
			}
			r := s.post(t, tc.path, tc.body, nil)
			if tc.status == http.StatusAccepted {
				if r.status != tc.status || s.store.calls.Load() != 1 {
					t.Fatalf("status %d with %d publishes, want 202 and 1: %s", r.status, s.store.calls.Load(), r.body)
				}
				return
			}
			wantError(t, r, tc.status, "event_too_large")
			if n := s.store.calls.Load(); n != 0 {
				t.Fatalf("%d publish calls reached the broker, want 0", n)
			}
		})
	}
}

// TestSpoolPublished checks what /publish puts on spools:updates: exactly
// the old system's five keys, null for absent optional fields, the
// timestamp kept verbatim or filled with the current UTC time.
func TestSpoolPublished(t *testing.T) {
	t.Parallel()
	filled := fixedNow.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"minimal", "", `{"event_type":"TOMAR","tag_spool":"SP-1"}`,
			`{"event_type":"TOMAR","tag_spool":"SP-1","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"all fields", "", `{"event_type":"STATE_CHANGE","tag_spool":"SP-2","worker_nombre":"Ana","estado_detalle":"en curso","timestamp":"2026-01-27T22:13:37Z"}`,
			`{"event_type":"STATE_CHANGE","tag_spool":"SP-2","worker_nombre":"Ana","estado_detalle":"en curso","timestamp":"2026-01-27T22:13:37Z"}`},
		{"explicit nulls", "", `{"event_type":"PAUSAR","tag_spool":"SP-3","worker_nombre":null,"estado_detalle":null,"timestamp":null}`,
			`{"event_type":"PAUSAR","tag_spool":"SP-3","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"empty timestamp is filled", "", `{"event_type":"PAUSAR","tag_spool":"SP-3","timestamp":""}`,
			`{"event_type":"PAUSAR","tag_spool":"SP-3","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"offset timestamp with micros kept", "", `{"event_type":"COMPLETAR","tag_spool":"SP-4","timestamp":"2026-01-27T22:13:37.123456+00:00"}`,
			`{"event_type":"COMPLETAR","tag_spool":"SP-4","worker_nombre":null,"estado_detalle":null,"timestamp":"2026-01-27T22:13:37.123456+00:00"}`},
		{"Python naive isoformat kept", "", `{"event_type":"TOMAR","tag_spool":"SP-5","timestamp":"2026-01-27T22:13:37.123456"}`,
			`{"event_type":"TOMAR","tag_spool":"SP-5","worker_nombre":null,"estado_detalle":null,"timestamp":"2026-01-27T22:13:37.123456"}`},
		{"naive without fraction kept", "", `{"event_type":"TOMAR","tag_spool":"SP-5","timestamp":"2026-01-27T22:13:37"}`,
			`{"event_type":"TOMAR","tag_spool":"SP-5","worker_nombre":null,"estado_detalle":null,"timestamp":"2026-01-27T22:13:37"}`},
		{"charset parameter accepted", "application/json; charset=utf-8", `{"event_type":"TOMAR","tag_spool":"SP-6"}`,
			`{"event_type":"TOMAR","tag_spool":"SP-6","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"upper-case media type accepted", "Application/JSON", `{"event_type":"TOMAR","tag_spool":"SP-6"}`,
			`{"event_type":"TOMAR","tag_spool":"SP-6","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"pretty-printed body", "", "{\n  \"event_type\": \"TOMAR\",\n  \"tag_spool\": \"SP-7\"\n}\n",
			`{"event_type":"TOMAR","tag_spool":"SP-7","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"escapes and non-ASCII", "", `{"event_type":"TOMAR","tag_spool":"SP-\u00d1","worker_nombre":"José \"Pepe\""}`,
			`{"event_type":"TOMAR","tag_spool":"SP-Ñ","worker_nombre":"José \"Pepe\"","estado_detalle":null,"timestamp":"` + filled + `"}`},
		{"field of exactly the limit", "", `{"event_type":"TOMAR","tag_spool":"` + strings.Repeat("s", maxFieldLen) + `"}`,
			`{"event_type":"TOMAR","tag_spool":"` + strings.Repeat("s", maxFieldLen) + `","worker_nombre":null,"estado_detalle":null,"timestamp":"` + filled + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{})
			r := s.do(t, request{path: "/publish", contentType: tc.contentType, body: tc.body})
			ok := wantPublished(t, r, http.StatusAccepted, SpoolTopic)
			h := s.history(t, SpoolTopic)
			if len(h) != 1 {
				t.Fatalf("history has %d events, want 1", len(h))
			}
			if h[0].ID.String() != ok.ID {
				t.Errorf("answered id %s, history has %s", ok.ID, h[0].ID)
			}
			if h[0].Event != "" {
				t.Errorf("event name %q, want the default (empty)", h[0].Event)
			}
			if string(h[0].Data) != tc.want {
				t.Errorf("published\n%s\nwant\n%s", h[0].Data, tc.want)
			}
			var keys map[string]any
			if err := json.Unmarshal(h[0].Data, &keys); err != nil {
				t.Fatalf("published data is not JSON: %v", err)
			}
			if len(keys) != 5 {
				t.Errorf("published %d keys, want exactly 5", len(keys))
			}
			if !h[0].AcceptedAt.Equal(fixedNow) {
				t.Errorf("accepted at %v, want %v", h[0].AcceptedAt, fixedNow)
			}
		})
	}
}

// TestSpoolTimestampFilledIsCurrentUTC uses the real clock: a missing
// timestamp becomes the current time, in UTC, in ISO 8601.
func TestSpoolTimestampFilledIsCurrentUTC(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Now: time.Now})
	before := time.Now().Truncate(time.Microsecond)
	wantPublished(t, s.post(t, "/publish", `{"event_type":"TOMAR","tag_spool":"SP-1"}`, nil), http.StatusAccepted, SpoolTopic)
	after := time.Now()
	var ev SpoolEvent
	if err := json.Unmarshal(s.history(t, SpoolTopic)[0].Data, &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(ev.Timestamp, "Z") {
		t.Errorf("timestamp %q is not UTC", ev.Timestamp)
	}
	ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	if err != nil {
		t.Fatalf("timestamp %q: %v", ev.Timestamp, err)
	}
	if ts.Before(before) || ts.After(after) {
		t.Errorf("timestamp %v not between %v and %v", ts, before, after)
	}
}

// TestGenericPublished checks /v1/events: data compacted to one line and
// kept exactly otherwise (numbers as written), type as the event name.
func TestGenericPublished(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		topic     string
		wantEvent string
		wantData  string
	}{
		{"object", `{"topic":"orders:1","data":{"n":1}}`, "orders:1", "", `{"n":1}`},
		{"string data", `{"topic":"t","data":"hello"}`, "t", "", `"hello"`},
		{"null data", `{"topic":"t","data":null}`, "t", "", `null`},
		{"number data", `{"topic":"t","data":-0.5e-7}`, "t", "", `-0.5e-7`},
		{"with type", `{"topic":"spools:updates","type":"spool-changed","data":[1]}`, "spools:updates", "spool-changed", `[1]`},
		{"empty type is message", `{"topic":"t","type":"","data":1}`, "t", "", `1`},
		{"type of the max length", `{"topic":"t","type":"` + strings.Repeat("e", maxEventNameLen) + `","data":1}`, "t", strings.Repeat("e", maxEventNameLen), `1`},
		{"type not ASCII", `{"topic":"t","type":"año","data":1}`, "t", "año", `1`},
		{"multi-line data compacted", "{\"topic\":\"t\",\"data\":{\n  \"a\": [1,\r\n 2],\n\t\"b\": \"x y\"\n}}", "t", "", `{"a":[1,2],"b":"x y"}`},
		{"escaped newline kept escaped", `{"topic":"t","data":"line1\nline2"}`, "t", "", `"line1\nline2"`},
		{"huge integer kept exactly", `{"topic":"t","data":{"n":123456789012345678901234567890}}`, "t", "", `{"n":123456789012345678901234567890}`},
		{"long mantissa kept exactly", `{"topic":"t","data":[1e300,-1.000000000000000000001]}`, "t", "", `[1e300,-1.000000000000000000001]`},
		{"key order kept", `{"topic":"t","data":{"z":1,"a":2}}`, "t", "", `{"z":1,"a":2}`},
		{"keys in any order", `{"data":true,"type":"x","topic":"t"}`, "t", "x", `true`},
		{"topic of the max length", `{"topic":"` + strings.Repeat("t", 128) + `","data":1}`, strings.Repeat("t", 128), "", `1`},
		{"topic punctuation", `{"topic":"a:b_c-d.e/f@g=h+i","data":1}`, "a:b_c-d.e/f@g=h+i", "", `1`},
		{"nesting of exactly 32", `{"topic":"t","data":` + nested(31) + `}`, "t", "", nested(31)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{})
			ok := wantPublished(t, s.post(t, "/v1/events", tc.body, nil), http.StatusAccepted, tc.topic)
			h := s.history(t, tc.topic)
			if len(h) != 1 {
				t.Fatalf("history has %d events, want 1", len(h))
			}
			if h[0].ID.String() != ok.ID {
				t.Errorf("answered id %s, history has %s", ok.ID, h[0].ID)
			}
			if h[0].Event != tc.wantEvent {
				t.Errorf("event %q, want %q", h[0].Event, tc.wantEvent)
			}
			if string(h[0].Data) != tc.wantData {
				t.Errorf("data %s, want %s", h[0].Data, tc.wantData)
			}
			if bytes.ContainsAny(h[0].Data, "\r\n") {
				t.Errorf("data %q spans several lines", h[0].Data)
			}
		})
	}
}

// TestIdempotency checks Idempotency-Key on both routes: a retry gets the
// first answer with 200 and Idempotent-Replayed, a different request with
// the same key gets 422, and only one event is ever published.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		path          string
		topic         string
		first, second string
		wantStatus    int
		wantCode      string
	}{
		{"spool retry", "/publish", SpoolTopic,
			`{"event_type":"TOMAR","tag_spool":"SP-1"}`, `{"event_type":"TOMAR","tag_spool":"SP-1"}`, 200, ""},
		{"spool retry with a timestamp", "/publish", SpoolTopic,
			`{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27T22:13:37Z"}`, `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27T22:13:37Z"}`, 200, ""},
		{"spool retry reformatted", "/publish", SpoolTopic,
			`{"event_type":"TOMAR","tag_spool":"SP-1"}`, "{\n \"tag_spool\": \"SP-1\", \"event_type\": \"TOMAR\"\n}", 200, ""},
		{"spool different event", "/publish", SpoolTopic,
			`{"event_type":"TOMAR","tag_spool":"SP-1"}`, `{"event_type":"PAUSAR","tag_spool":"SP-1"}`, 422, "idempotency_key_reused"},
		{"spool different timestamp", "/publish", SpoolTopic,
			`{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27T22:13:37Z"}`, `{"event_type":"TOMAR","tag_spool":"SP-1","timestamp":"2026-01-27T22:13:38Z"}`, 422, "idempotency_key_reused"},
		{"generic retry", "/v1/events", "t",
			`{"topic":"t","type":"x","data":{"a":1}}`, `{"topic":"t","type":"x","data":{"a":1}}`, 200, ""},
		{"generic retry reformatted", "/v1/events", "t",
			`{"topic":"t","data":{"a":1}}`, "{\"data\": {\n\"a\": 1\n}, \"topic\": \"t\"}", 200, ""},
		{"generic different data", "/v1/events", "t",
			`{"topic":"t","data":{"a":1}}`, `{"topic":"t","data":{"a":2}}`, 422, "idempotency_key_reused"},
		{"generic different type", "/v1/events", "t",
			`{"topic":"t","type":"x","data":1}`, `{"topic":"t","type":"y","data":1}`, 422, "idempotency_key_reused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The clock moves between the two requests, as it does for a
			// real retry: a filled-in timestamp must not make it differ.
			var ticks atomic.Int64
			now := func() time.Time { return fixedNow.Add(time.Duration(ticks.Add(1)) * 1500 * time.Millisecond) }
			s := startServer(t, Config{Now: now})
			key := map[string]string{"Idempotency-Key": "req-" + strings.ReplaceAll(tc.name, " ", "-")}
			first := wantPublished(t, s.post(t, tc.path, tc.first, key), http.StatusAccepted, tc.topic)
			r := s.post(t, tc.path, tc.second, key)
			if tc.wantCode != "" {
				wantError(t, r, tc.wantStatus, tc.wantCode)
				if got := r.header.Get("Idempotent-Replayed"); got != "" {
					t.Errorf("Idempotent-Replayed %q on a refusal", got)
				}
			} else {
				second := wantPublished(t, r, tc.wantStatus, tc.topic)
				if second.ID != first.ID {
					t.Errorf("replayed id %s, want %s", second.ID, first.ID)
				}
				if got := r.header.Get("Idempotent-Replayed"); got != "true" {
					t.Errorf("Idempotent-Replayed %q, want true", got)
				}
			}
			if h := s.history(t, tc.topic); len(h) != 1 {
				t.Errorf("history has %d events, want 1", len(h))
			}
			// Without the key the same request publishes again.
			wantPublished(t, s.post(t, tc.path, tc.first, nil), http.StatusAccepted, tc.topic)
			if h := s.history(t, tc.topic); len(h) != 2 {
				t.Errorf("history has %d events after an unkeyed publish, want 2", len(h))
			}
		})
	}
}

// TestIdempotencyKeyLimits checks the accepted key lengths and characters.
func TestIdempotencyKeyLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for i, key := range []string{"k", strings.Repeat("k", 255), "!~{}[]\"'=/:;"} {
		body := fmt.Sprintf(`{"topic":"t","data":%d}`, i)
		wantPublished(t, s.post(t, "/v1/events", body, map[string]string{"Idempotency-Key": key}), http.StatusAccepted, "t")
	}
	if h := s.history(t, "t"); len(h) != 3 {
		t.Errorf("history has %d events, want 3", len(h))
	}
}
