package spectest

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/httperr/codetest"
)

// docCodes returns the error codes of the document's Error<status>
// schemas.
func docCodes(t *testing.T, v *Validator) map[string]string {
	t.Helper()
	codes := map[string]string{}
	for name, ref := range v.Doc().Components.Schemas {
		if !strings.HasPrefix(name, "Error") || name == "ErrorMessage" {
			continue
		}
		code := ref.Value.Properties["error"].Value.Properties["code"].Value
		for _, c := range code.Enum {
			codes[c.(string)] = name
		}
	}
	return codes
}

// TestErrorCodesInDocument: every code the sources can answer (found by
// codetest, as for README.md) is in the document's enums, and the
// document names no code the sources never answer.
func TestErrorCodesInDocument(t *testing.T) {
	t.Parallel()
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	found, errs := codetest.Collect("../../..")
	for _, e := range errs {
		t.Error(e)
	}
	inDoc := docCodes(t, v)
	src := codetest.Codes(found)
	for _, f := range found {
		if _, ok := inDoc[f.Code]; !ok {
			t.Errorf("error code %q (%s) is in no Error<status> enum of internal/apispec/openapi.yaml", f.Code, f.Pos)
		}
	}
	var stale []string
	for c := range inDoc {
		if !slices.Contains(src, c) {
			stale = append(stale, c)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("internal/apispec/openapi.yaml names codes no source answers: %v", stale)
	}
}
