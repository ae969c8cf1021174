package publisher

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ssegate/ssegate/internal/topic"
)

// The committed seed corpora live in testdata/fuzz/<FuzzName>/; the f.Add
// seeds below are the minimal ones every run starts from.

// FuzzParseSpoolEvent: ParseSpoolEvent never panics, refuses only with a
// classified validation error, and what it accepts has no duplicate keys,
// reads the same to a case-sensitive parser, and re-marshals to JSON with
// exactly the five published keys.
func FuzzParseSpoolEvent(f *testing.F) {
	for _, s := range []string{
		`{"event_type":"TOMAR","tag_spool":"SP-1"}`,
		`{"event_type":"STATE_CHANGE","tag_spool":"SP-2","worker_nombre":"Ana","estado_detalle":null,"timestamp":"2026-01-27T22:13:37.123456"}`,
		`{"event_type":"TOMAR","tag_spool":"SP-1","tag_spool":"SP-2"}`,
		`{"event_type":"TOMAR","EVENT_TYPE":"PAUSAR","tag_spool":"x"}`,
		`{"event_type":"PAUSAR","tag_spool":"\u00d1","timestamp":"2026-01-27T22:13:37+01:00"}`,
		`[]`, ``, `null`, `{"event_type":"TOMAR","tag_spool":"a"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseSpoolEvent(body, fixedNow)
		if err != nil {
			wantValidationError(t, err)
			return
		}
		wantNoDuplicateKeys(t, body)
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		if !eventTypes[ev.EventType] {
			t.Fatalf("accepted event_type %q", ev.EventType)
		}
		if strings.TrimSpace(ev.TagSpool) == "" || len(ev.TagSpool) > maxFieldLen {
			t.Fatalf("accepted tag_spool %q", ev.TagSpool)
		}
		if _, err := parseTimestamp(ev.Timestamp); err != nil {
			t.Fatalf("published timestamp %q does not parse: %v", ev.Timestamp, err)
		}
		// A case-sensitive reader of the same body sees the same event.
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("accepted body does not unmarshal into a map: %v", err)
		}
		for k := range raw {
			switch k {
			case "event_type", "tag_spool", "worker_nombre", "estado_detalle", "timestamp":
			default:
				t.Fatalf("accepted unknown key %q", k)
			}
		}
		if raw["event_type"] != ev.EventType || raw["tag_spool"] != ev.TagSpool {
			t.Fatalf("case-sensitive read %v differs from %+v", raw, ev)
		}
		data, err := json.Marshal(ev)
		if err != nil || !json.Valid(data) {
			t.Fatalf("re-marshal: %s, %v", data, err)
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		if len(out) != 5 {
			t.Fatalf("published %s, want exactly 5 keys", data)
		}
		for _, k := range []string{"event_type", "tag_spool", "worker_nombre", "estado_detalle", "timestamp"} {
			if _, ok := out[k]; !ok {
				t.Fatalf("published %s lacks %s", data, k)
			}
		}
	})
}

// FuzzParseGenericEvent: ParseGenericEvent never panics, refuses only with
// a classified validation error, and what it accepts has a valid topic, a
// one-line event name and data that is the body's data compacted.
func FuzzParseGenericEvent(f *testing.F) {
	for _, s := range []string{
		`{"topic":"orders:1","data":{"n":1}}`,
		`{"topic":"t","type":"x","data":"hello"}`,
		"{\"topic\":\"t\",\"data\":{\n\"a\": [1, 2]\n}}",
		`{"topic":"t","data":123456789012345678901234567890}`,
		`{"topic":"a b","data":1}`,
		`{"topic":"t","type":"a\nb","data":1}`,
		`{"topic":"t","data":{"a":1,"a":2}}`,
		`{"topic":"t","Topic":"u","data":1}`,
		`{"topic":"t","data":` + nested(31) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseGenericEvent(body, topic.MaxLen)
		if err != nil {
			wantValidationError(t, err)
			return
		}
		wantNoDuplicateKeys(t, body)
		if err := topic.Validate(ev.Topic, topic.MaxLen); err != nil {
			t.Fatalf("accepted topic %q: %v", ev.Topic, err)
		}
		if strings.ContainsAny(ev.Type, "\r\n\x00") || len(ev.Type) > maxEventNameLen || !utf8.ValidString(ev.Type) {
			t.Fatalf("accepted type %q", ev.Type)
		}
		if !json.Valid(ev.Data) || bytes.ContainsAny(ev.Data, "\r\n") {
			t.Fatalf("data %q is not one line of JSON", ev.Data)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("accepted body does not unmarshal into a map: %v", err)
		}
		for k := range raw {
			if k != "topic" && k != "type" && k != "data" {
				t.Fatalf("accepted unknown key %q", k)
			}
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw["data"]); err != nil || !bytes.Equal(compact.Bytes(), ev.Data) {
			t.Fatalf("data %s, want the body's data compacted %s (%v)", ev.Data, compact.Bytes(), err)
		}
		out, err := json.Marshal(struct {
			Topic string          `json:"topic"`
			Type  string          `json:"type"`
			Data  json.RawMessage `json:"data"`
		}{ev.Topic, ev.Type, ev.Data})
		if err != nil || !json.Valid(out) {
			t.Fatalf("re-marshal: %s, %v", out, err)
		}
	})
}

// FuzzCheckJSON: checkJSON never panics, accepts only valid JSON, and
// refuses valid JSON only for duplicate keys, depth or a number beyond float64.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a":1,"a":2}`, `[1,2,]`, `{} {}`, ``, ` `, `"\u0000"`, nested(33), `{"a":{"b":[{"c":null}]}}`, `1e999`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkJSON(data)
		valid := json.Valid(data)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err != nil && valid && !errors.Is(err, errDuplicateKey) && !errors.Is(err, errTooDeep) && !errors.Is(err, errNumberRange) {
			t.Fatalf("refused valid JSON %q: %v", data, err)
		}
		if errors.Is(err, errDuplicateKey) {
			if dup, derr := hasDuplicateKeys(data); derr == nil && !dup {
				t.Fatalf("reported a duplicate key in %q, which has none", data)
			}
		}
	})
}

// wantValidationError fails unless err is a 400 with a reason and message.
func wantValidationError(t *testing.T, err error) {
	t.Helper()
	var ve *validationError
	if !errors.As(err, &ve) {
		t.Fatalf("refusal %v (%T) is not a validation error", err, err)
	}
	if ve.code == "" || ve.message == "" {
		t.Fatalf("validation error without reason or message: %+v", ve)
	}
}

// wantNoDuplicateKeys fails when doc (valid JSON) has an object with a key
// twice, found by a recursive walk independent of checkJSON.
func wantNoDuplicateKeys(t *testing.T, doc []byte) {
	t.Helper()
	dup, err := hasDuplicateKeys(doc)
	if err != nil {
		t.Fatalf("accepted body does not walk: %v", err)
	}
	if dup {
		t.Fatalf("accepted a body with a duplicate key: %q", doc)
	}
}

func hasDuplicateKeys(doc []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers beyond float64 (1e700) are valid JSON
	return walkDuplicates(dec, 0)
}

func walkDuplicates(dec *json.Decoder, depth int) (bool, error) {
	if depth > 64 {
		return false, errors.New("too deep to walk")
	}
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return false, err
			}
			key, _ := k.(string)
			if seen[key] {
				return true, nil
			}
			seen[key] = true
			if dup, err := walkDuplicates(dec, depth+1); dup || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token()
		return false, err
	case json.Delim('['):
		for dec.More() {
			if dup, err := walkDuplicates(dec, depth+1); dup || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token()
		return false, err
	}
	return false, nil
}
