package integration

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/apispec"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// TestOpenAPIServed: both services (and an embedded-mode gateway) serve
// the repository's OpenAPI document at GET /openapi.json, byte for byte.
func TestOpenAPIServed(t *testing.T) {
	want, err := apispec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t)
	urls := map[string]string{
		"publisher":        startPublisher(t, srv, broker.HistoryConfig{}).URL,
		"gateway":          startGateway(t, srv, gateway.Config{}).URL,
		"embedded gateway": harness.StartGateway(t, gateway.ProgramConfig{}).URL,
	}
	client := harness.Client(t)
	for name, u := range urls {
		resp, err := client.Get(u + apispec.Path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("%s: GET %s = %d, %d bytes; want 200 and the document (%d bytes)", name, apispec.Path, resp.StatusCode, len(got), len(want))
		}
	}
}
