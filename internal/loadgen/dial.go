package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// headerBufBytes bounds the response headers of a stream.
const headerBufBytes = 8 << 10

// connectError is a failed connection with a short, countable reason.
type connectError struct {
	reason string
	err    error
}

func (e *connectError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

func failf(reason string, err error) error { return &connectError{reason: reason, err: err} }

// worker is one connect goroutine's reusable state. All workers share one
// set of counters (events rarely arrive with the response headers, and a
// histogram per worker would cost 60 KB each).
type worker struct {
	hdr   []byte
	req   []byte
	names []string
	sink  sink
}

func newWorker(st *counters) *worker {
	return &worker{hdr: make([]byte, headerBufBytes), sink: sink{st: st}}
}

// parseResponseHead checks the status line and headers of a stream response
// and reports whether the body uses chunked transfer coding.
func parseResponseHead(head []byte) (chunked bool, err error) {
	lines := bytes.Split(bytes.TrimRight(head, "\r\n"), []byte("\r\n"))
	status := lines[0]
	f := bytes.Fields(status)
	if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/1.")) {
		return false, failf("bad_response", fmt.Errorf("status line %q", status))
	}
	code, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return false, failf("bad_response", fmt.Errorf("status line %q", status))
	}
	if code != 200 {
		return false, failf("http_"+strconv.Itoa(code), fmt.Errorf("status line %q", status))
	}
	ctype := false
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Type")):
			ctype = bytes.HasPrefix(bytes.ToLower(value), []byte("text/event-stream"))
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		}
	}
	if !ctype {
		return false, failf("content_type", errors.New("response is not text/event-stream"))
	}
	return chunked, nil
}
