package codetest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeModule writes files (path → source) under a fresh module root.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.26\n"
	for p, src := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestCollectRules checks every way a code can be written, so a code that
// another package adds in any of these forms is found.
func TestCollectRules(t *testing.T) {
	t.Parallel()
	root := writeModule(t, map[string]string{
		"errs/errs.go": `package errs
const Shared = "from_const"
func New(status int, code, message string) error { return nil }
func Bad(code string) error { return New(400, code, "") }
type E struct{ Code string }
func codeFor(s int) (code string) {
	if s == 404 { return "not_found" }
	return "other"
}
func handler(s int) error { return New(s, codeFor(s), "x") }
`,
		"svc/svc.go": `package svc
import e "example.com/m/errs"
const local = "local_const"
func refuse(code, why string) error { return e.Bad(code) }
func a() error { return e.New(408, "body_timeout", "slow") }
func b() error { return e.Bad(local) }
func c() error { return refuse("via_helper", "") }
func d() error { code := "assigned"; code = "reassigned"; return e.Bad(code) }
func f() any { return e.E{Code: "in_struct"} }
func g() error { return e.Bad(e.Shared) }
func h() error { return func() error { return e.Bad("in_closure") }() }
`,
		"svc/svc_test.go":   `package svc` + "\n" + `func t() error { return refuse("only_in_test", "") }`,
		"test/harness/h.go": `package harness` + "\n" + `import e "example.com/m/errs"` + "\n" + `func x() error { return e.Bad("harness_only") }`,
	})
	found, errs := Collect(root)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"assigned", "body_timeout", "from_const", "in_closure", "in_struct", "local_const", "not_found", "other", "reassigned", "via_helper"}
	if got := Codes(found); !slices.Equal(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
}

// TestCollectUnresolved: a code argument that is computed some other way is
// reported, never silently skipped.
func TestCollectUnresolved(t *testing.T) {
	t.Parallel()
	root := writeModule(t, map[string]string{
		"errs/errs.go": `package errs
func Bad(code string) error { return nil }
func pick() string { return "hidden" }
func a(reason string) error { return Bad(reason) }
func b() error { return Bad(pick()) }
`,
	})
	_, errs := Collect(root)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "errs/errs.go:4") || !strings.Contains(errs[1].Error(), "errs/errs.go:5") {
		t.Fatalf("errors %v, want the two calls on lines 4 and 5", errs)
	}
}

// TestRequireDocumentedWholeWord: a code is documented only as a whole word.
func TestRequireDocumentedWholeWord(t *testing.T) {
	t.Parallel()
	root := writeModule(t, map[string]string{
		"errs/errs.go": `package errs
func Bad(code string) error { return nil }
func a() error { return Bad("too_many") }
`,
		"README.md": "`too_many_connections` and `too_many` here\n",
		"OTHER.md":  "only `too_many_connections`\n",
	})
	var rec recorder
	RequireDocumented(&rec, root, filepath.Join(root, "README.md"))
	if rec.failed {
		t.Fatalf("documented code reported: %v", rec.msgs)
	}
	rec = recorder{}
	RequireDocumented(&rec, root, filepath.Join(root, "OTHER.md"))
	if !rec.failed {
		t.Fatal("a code documented only as part of a longer word passed")
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.failed = true; r.msgs = append(r.msgs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, a ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatal(args ...any)         { r.Error(args...) }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...) }

// TestErrorCodesDocumented keeps README.md and docs/CONTRACT.md complete:
// every error code either service can answer is named in one of them.
func TestErrorCodesDocumented(t *testing.T) {
	t.Parallel()
	RequireDocumented(t, "../../..", "../../../README.md", "../../../docs/CONTRACT.md")
}
