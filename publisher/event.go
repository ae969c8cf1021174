package publisher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/topic"
)

// SpoolTopic is the channel the old system published spool updates on.
const SpoolTopic = topic.Default

// EventTypes are the spool state-machine events the old system published.
var eventTypes = map[string]bool{"TOMAR": true, "PAUSAR": true, "COMPLETAR": true, "STATE_CHANGE": true}

// maxFieldLen bounds each string field of a spool event.
const maxFieldLen = 1024

// validationError is a 400 that names its reason for metrics.
type validationError struct {
	code    string // the error code; a bounded set, also the metric label
	message string
}

func (e *validationError) Error() string { return e.message }

func invalid(code, format string, args ...any) error {
	return &validationError{code: code, message: fmt.Sprintf(format, args...)}
}

// SpoolEvent is the old system's event, published on spools:updates.
// Optional fields absent from the request are published as null, like the
// old service did with None.
type SpoolEvent struct {
	EventType     string  `json:"event_type"`
	TagSpool      string  `json:"tag_spool"`
	WorkerNombre  *string `json:"worker_nombre"`
	EstadoDetalle *string `json:"estado_detalle"`
	Timestamp     string  `json:"timestamp"`
}

// spoolRequest mirrors SpoolEvent with every field optional, so a missing
// field and a field of the wrong type get distinct errors.
type spoolRequest struct {
	EventType     *string `json:"event_type"`
	TagSpool      *string `json:"tag_spool"`
	WorkerNombre  *string `json:"worker_nombre"`
	EstadoDetalle *string `json:"estado_detalle"`
	Timestamp     *string `json:"timestamp"`
}

// timestampLayouts are the ISO 8601 forms accepted: RFC 3339 and Python's
// isoformat() without a zone (taken as UTC).
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700"}

// ParseSpoolEvent validates a POST /publish body and returns the event as it
// will be published; now fills a missing timestamp.
func ParseSpoolEvent(body []byte, now time.Time) (SpoolEvent, error) {
	ev, _, err := parseSpoolEvent(body, now)
	return ev, err
}

// parseSpoolEvent is ParseSpoolEvent that also reports whether the
// timestamp was filled in from now rather than sent by the caller: an
// idempotent retry of the same request must not differ by that.
func parseSpoolEvent(body []byte, now time.Time) (ev SpoolEvent, stamped bool, err error) {
	var req spoolRequest
	if err := decodeStrict(body, &req); err != nil {
		return SpoolEvent{}, false, err
	}
	if req.EventType == nil {
		return SpoolEvent{}, false, invalid("missing_field", "event_type is required (one of TOMAR, PAUSAR, COMPLETAR, STATE_CHANGE)")
	}
	if !eventTypes[*req.EventType] {
		return SpoolEvent{}, false, invalid("unknown_event_type", "unknown event_type %q: want one of TOMAR, PAUSAR, COMPLETAR, STATE_CHANGE", truncate(*req.EventType))
	}
	if req.TagSpool == nil || strings.TrimSpace(*req.TagSpool) == "" {
		return SpoolEvent{}, false, invalid("missing_field", "tag_spool is required and must not be empty")
	}
	ev = SpoolEvent{EventType: *req.EventType, TagSpool: *req.TagSpool, WorkerNombre: req.WorkerNombre, EstadoDetalle: req.EstadoDetalle}
	// A slice, not a map: with several fields too long the error names the
	// same one every time.
	for _, f := range []struct {
		name string
		v    *string
	}{{"tag_spool", req.TagSpool}, {"worker_nombre", req.WorkerNombre}, {"estado_detalle", req.EstadoDetalle}} {
		if f.v != nil && len(*f.v) > maxFieldLen {
			return SpoolEvent{}, false, invalid("field_too_long", "%s is longer than %d bytes", f.name, maxFieldLen)
		}
	}
	if req.Timestamp == nil || *req.Timestamp == "" {
		ev.Timestamp = now.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
		stamped = true
	} else {
		if _, err := parseTimestamp(*req.Timestamp); err != nil {
			return SpoolEvent{}, false, invalid("invalid_timestamp", "timestamp %q is not ISO 8601 (e.g. 2026-01-27T22:13:37Z)", truncate(*req.Timestamp))
		}
		ev.Timestamp = *req.Timestamp
	}
	return ev, stamped, nil
}

func parseTimestamp(s string) (time.Time, error) {
	var err error
	for _, layout := range timestampLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// GenericEvent is a POST /v1/events body.
type GenericEvent struct {
	Topic string
	Type  string          // the SSE event name; empty for "message"
	Data  json.RawMessage // compacted to one line
	// Key, when set, makes the event its key's latest in the topic's
	// state; Delete (a tombstone) removes the key from the state instead.
	Key    string
	Delete bool
}

type genericRequest struct {
	Topic  *string         `json:"topic"`
	Type   *string         `json:"type"`
	Data   json.RawMessage `json:"data"`
	Key    *string         `json:"key"`
	Delete *bool           `json:"delete"`
}

// maxEventNameLen bounds an SSE event name.
const maxEventNameLen = 64

// ParseGenericEvent validates a POST /v1/events body.
func ParseGenericEvent(body []byte, maxTopicLen int) (GenericEvent, error) {
	var req genericRequest
	if err := decodeStrict(body, &req); err != nil {
		return GenericEvent{}, err
	}
	if req.Topic == nil {
		return GenericEvent{}, invalid("missing_field", "topic is required")
	}
	if err := topic.Validate(*req.Topic, maxTopicLen); errors.Is(err, topic.ErrReserved) {
		return GenericEvent{}, invalid("reserved_topic", "%v", err)
	} else if err != nil {
		return GenericEvent{}, invalid("invalid_topic", "%v", err)
	}
	if req.Data == nil {
		return GenericEvent{}, invalid("missing_field", "data is required (any JSON value)")
	}
	ev := GenericEvent{Topic: *req.Topic}
	if req.Type != nil {
		if _, err := sse.NewEventName(*req.Type); err != nil || len(*req.Type) > maxEventNameLen || !utf8.ValidString(*req.Type) {
			return GenericEvent{}, invalid("invalid_type", "type must be at most %d bytes of UTF-8 without CR, LF or NUL", maxEventNameLen)
		}
		ev.Type = *req.Type
	}
	if err := parseStateKey(&ev, req); err != nil {
		return GenericEvent{}, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, req.Data); err != nil {
		return GenericEvent{}, invalid("invalid_json", "data: %v", err)
	}
	ev.Data = buf.Bytes()
	return ev, nil
}

// parseStateKey validates the optional key and delete fields: a key is 1
// to broker.MaxKeyLen bytes of UTF-8 without control characters (400
// invalid_key), and a tombstone needs a key (400 missing_field).
func parseStateKey(ev *GenericEvent, req genericRequest) error {
	if req.Key != nil {
		if err := broker.ValidateKey(*req.Key); err != nil {
			return invalid("invalid_key", "key must be 1 to %d bytes of UTF-8 without control characters (%v)", broker.MaxKeyLen, err)
		}
		ev.Key = *req.Key
	}
	if req.Delete != nil && *req.Delete {
		if req.Key == nil {
			return invalid("missing_field", "key is required with delete: true (the state key to remove)")
		}
		ev.Delete = true
	}
	return nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields,
// duplicate keys, excessive nesting, trailing data and wrong types.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("invalid_json", "the body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return invalid("invalid_json", "the body is not valid UTF-8")
	}
	if err := checkJSON(body); err != nil {
		code := "invalid_json"
		switch {
		case errors.Is(err, errDuplicateKey):
			code = "duplicate_key"
		case errors.Is(err, errTooDeep):
			code = "too_deep"
		case errors.Is(err, errNumberRange):
			code = "number_out_of_range"
		}
		return invalid(code, "invalid JSON: %v", err)
	}
	if err := checkFieldNames(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			if typeErr.Field == "" {
				return invalid("wrong_type", "the body must be a JSON object, not %s", typeErr.Value)
			}
			return invalid("wrong_type", "field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid("unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return invalid("invalid_json", "invalid JSON: %v", err)
	}
	return nil
}

func jsonKind(goKind string) string {
	if goKind == "ptr" || goKind == "string" {
		return "a string"
	}
	return goKind
}

// checkFieldNames refuses a top-level key that is not exactly the JSON name
// of a field of the struct v points to. encoding/json matches names without
// regard to case, so {"event_type":"TOMAR","EVENT_TYPE":"PAUSAR"} would
// otherwise be read as PAUSAR while a case-sensitive parser reads TOMAR: the
// same ambiguity that duplicate keys create. body has passed checkJSON;
// anything that is not an object is left to the decoder to report.
func checkFieldNames(body []byte, v any) error {
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	known := make(map[string]bool, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		known[name] = true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if key, _ := tok.(string); !known[key] {
			return invalid("unknown_field", "unknown field %q", truncate(key))
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}
