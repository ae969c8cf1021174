package publisher

import (
	"slices"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/httperr/codetest"
)

// notValidation are the publisher's error codes that are not a refusal of
// an invalid request, so they are no reason label of
// ssegate_publisher_validation_failures_total.
var notValidation = []string{"redis_unavailable", "redis_misconfigured"}

// TestValidationCodesComplete keeps validationCodes (the reason labels
// created at 0 from start-up) in step with the codes this package answers:
// a new code must be listed there or in notValidation.
func TestValidationCodesComplete(t *testing.T) {
	t.Parallel()
	found, errs := codetest.Collect("..")
	for _, err := range errs {
		t.Error(err)
	}
	listed := validationCodes()
	for _, f := range found {
		if !strings.HasPrefix(f.Pos, "publisher/") || slices.Contains(notValidation, f.Code) {
			continue
		}
		if !slices.Contains(listed, f.Code) {
			t.Errorf("publisher answers code %q (%s): add it to validationCodes() in metrics.go, or to notValidation when it is not a validation failure", f.Code, f.Pos)
		}
	}
}
