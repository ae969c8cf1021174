package publisher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// maxDepth bounds how deeply JSON may nest: deeper documents are refused
// before anything tries to decode them recursively.
const maxDepth = 32

// errJSON classifies problems found by checkJSON.
var (
	errDuplicateKey = errors.New("duplicate key")
	errTooDeep      = errors.New("nesting too deep")
	errTrailing     = errors.New("data after the JSON value")
	errNumberRange  = errors.New("number out of the range of a float64")
)

// checkJSON walks a document token by token and refuses what encoding/json
// would silently accept: duplicate object keys (the last one would win, so
// two parsers could read different events), nesting deeper than maxDepth and
// anything after the first value. It reports syntax errors with their offset.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]struct{}
		expect bool // in an object: the next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			// Only reached before the first value or inside an open one: a
			// complete top-level value returns below. Empty input is not JSON.
			return fmt.Errorf("unexpected end of JSON input")
		}
		if err != nil {
			return err
		}
		if num, ok := tok.(json.Number); ok {
			// JSON allows any number of digits; JavaScript (the browser on
			// the other end) and most parsers read numbers as float64, so a
			// number beyond its range would arrive as Infinity.
			if f, err := strconv.ParseFloat(string(num), 64); err != nil || math.IsInf(f, 0) {
				return fmt.Errorf("%w: %s", errNumberRange, truncate(string(num)))
			}
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].expect {
			if key, ok := tok.(string); ok {
				if _, dup := stack[top].keys[key]; dup {
					return fmt.Errorf("%w %q", errDuplicateKey, truncate(key))
				}
				stack[top].keys[key] = struct{}{}
				stack[top].expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxDepth {
				return fmt.Errorf("%w: more than %d levels", errTooDeep, maxDepth)
			}
			obj := tok == json.Delim('{')
			f := frame{object: obj, expect: obj}
			if obj {
				f.keys = make(map[string]struct{})
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		}
		if len(stack) == 0 {
			if dec.More() {
				return errTrailing
			}
			if _, err := dec.Token(); err != io.EOF {
				return errTrailing
			}
			return nil
		}
		if t := len(stack) - 1; stack[t].object {
			stack[t].expect = true
		}
	}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
