package gateway

import (
	"slices"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/httperr/codetest"
)

// TestRejectedCodesComplete keeps rejectedCodes (the reason labels of
// ssegate_gateway_connections_rejected_total created at 0 from start-up) in
// step with the codes a stream request can be refused with: every code of
// the gateway, of the subscriber authenticators (internal/auth) and of the
// shared HTTP stack (internal/httpserver), and the 500 of httperr.
func TestRejectedCodesComplete(t *testing.T) {
	t.Parallel()
	found, errs := codetest.Collect("..")
	for _, err := range errs {
		t.Error(err)
	}
	listed := rejectedCodes()
	for _, f := range append(found, codetest.Found{Code: "internal", Pos: "internal/httperr (Answer)"}) {
		if !strings.HasPrefix(f.Pos, "gateway/") && !strings.HasPrefix(f.Pos, "internal/auth/") &&
			!strings.HasPrefix(f.Pos, "internal/httpserver/") && !strings.HasPrefix(f.Pos, "internal/httperr ") {
			continue
		}
		if !slices.Contains(listed, f.Code) {
			t.Errorf("a stream request can be refused with code %q (%s): add it to rejectedCodes() in refusals.go", f.Code, f.Pos)
		}
	}
	if n := len(listed); n != len(slices.Compact(slices.Sorted(slices.Values(listed)))) {
		t.Errorf("rejectedCodes() lists a code twice: %v", listed)
	}
}
