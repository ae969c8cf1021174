package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// APIError is a refusal from ssegate: its HTTP status and the JSON error
// body {"error":{"code","message"}} every refusal carries (README.md "Error
// codes" lists the codes). Callers inspect it with errors.As:
//
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Code == "invalid_topic" { … }
type APIError struct {
	Status     int           // HTTP status, e.g. 400
	Code       string        // machine code, e.g. "invalid_topic"; empty when the body was not ssegate's JSON
	Message    string        // human text
	RetryAfter time.Duration // from the Retry-After header (503, 429); zero when absent
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("ssegate: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("ssegate: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether the same request may succeed later: 408, 429
// and 5xx answers. The Publisher and Subscription retry these themselves;
// other 4xx answers mean the request itself is wrong.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readAPIError builds the APIError of a non-success answer. It reads (a
// bounded part of) the body but does not close it.
func readAPIError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). Anything else, or a date in the past, is zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
