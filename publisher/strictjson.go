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
	c := jsonChecker{dec: dec}
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
		if done, err := c.token(tok); done || err != nil {
			return err
		}
	}
}

// jsonFrame is an object or array that checkJSON has opened.
type jsonFrame struct {
	object bool
	keys   map[string]struct{}
	expect bool // in an object: the next string token is a key
}

// jsonChecker is checkJSON's state: its decoder and the open frames.
type jsonChecker struct {
	dec   *json.Decoder
	stack []jsonFrame
}

// token checks the next token of the document. done reports that the
// top-level value is complete (err then says whether anything follows).
func (c *jsonChecker) token(tok json.Token) (done bool, err error) {
	if num, ok := tok.(json.Number); ok {
		// JSON allows any number of digits; JavaScript (the browser on
		// the other end) and most parsers read numbers as float64, so a
		// number beyond its range would arrive as Infinity.
		if f, err := strconv.ParseFloat(string(num), 64); err != nil || math.IsInf(f, 0) {
			return false, fmt.Errorf("%w: %s", errNumberRange, truncate(string(num)))
		}
	}
	top := len(c.stack) - 1
	if top >= 0 && c.stack[top].object && c.stack[top].expect {
		if key, ok := tok.(string); ok {
			return false, c.key(key)
		}
	}
	switch tok {
	case json.Delim('{'), json.Delim('['):
		return false, c.open(tok == json.Delim('{'))
	case json.Delim('}'), json.Delim(']'):
		c.stack = c.stack[:top]
	}
	if len(c.stack) == 0 {
		return true, c.end()
	}
	if t := len(c.stack) - 1; c.stack[t].object {
		c.stack[t].expect = true
	}
	return false, nil
}

// key records an object key, refusing a duplicate.
func (c *jsonChecker) key(key string) error {
	f := &c.stack[len(c.stack)-1]
	if _, dup := f.keys[key]; dup {
		return fmt.Errorf("%w %q", errDuplicateKey, truncate(key))
	}
	f.keys[key] = struct{}{}
	f.expect = false
	return nil
}

// open pushes an object or array, refusing one nested deeper than maxDepth.
func (c *jsonChecker) open(object bool) error {
	if len(c.stack) >= maxDepth {
		return fmt.Errorf("%w: more than %d levels", errTooDeep, maxDepth)
	}
	f := jsonFrame{object: object, expect: object}
	if object {
		f.keys = make(map[string]struct{})
	}
	c.stack = append(c.stack, f)
	return nil
}

// end refuses anything after the complete top-level value.
func (c *jsonChecker) end() error {
	if c.dec.More() {
		return errTrailing
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
