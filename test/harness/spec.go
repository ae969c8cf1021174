package harness

import (
	"net/http"
	"sync"
	"testing"

	"github.com/ssegate/ssegate/internal/apispec/spectest"
)

// specValidator loads the OpenAPI document once per test binary: it is
// the embedded, immutable document, so this is a memoised constant, not
// shared mutable state.
var specValidator = sync.OnceValues(spectest.New)

// Checked returns a copy of client (http.DefaultClient's settings when
// nil) whose every exchange is validated against the OpenAPI document
// (internal/apispec/openapi.yaml); a mismatch fails t. Every request the
// harness makes goes through it, so the document cannot drift from what
// the integration suites see.
func Checked(t testing.TB, client *http.Client) *http.Client {
	t.Helper()
	v, err := specValidator()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	c := http.Client{}
	if client != nil {
		c = *client
	}
	if _, done := c.Transport.(*spectest.Transport); !done {
		c.Transport = &spectest.Transport{Base: c.Transport, Validator: v, Report: t.Errorf}
	}
	return &c
}

// Client is Checked(t, nil): http.DefaultClient with its exchanges
// validated against the OpenAPI document.
func Client(t testing.TB) *http.Client {
	t.Helper()
	return Checked(t, nil)
}
