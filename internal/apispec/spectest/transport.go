package spectest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Transport is an http.RoundTripper that checks every exchange it carries
// against the document and hands each mismatch to Report (a test's
// Errorf). The response is returned unchanged: a JSON or text body is read
// whole and replaced by an in-memory copy, a text/event-stream is checked
// by status and headers and left streaming.
type Transport struct {
	Base      http.RoundTripper // http.DefaultTransport when nil
	Validator *Validator
	Report    func(format string, args ...any)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	reqBody, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	var respBody []byte
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		respBody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		if err != nil {
			// The server cut the answer (a test of that): nothing whole
			// to check; the caller sees the same error.
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(respBody), errReader{err}))
			return resp, nil
		}
	}
	if err := t.Validator.Check(req, reqBody, resp, respBody); err != nil {
		t.Report("OpenAPI document (internal/apispec/openapi.yaml) does not match the service: %v", err)
	}
	return resp, nil
}

// requestBody returns a copy of req's body without consuming it.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("copy request body: %w", err)
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
