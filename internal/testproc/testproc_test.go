package testproc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait in this file.
const wait = 10 * time.Second

func TestRequired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  bool
	}{
		{"", false},
		{"0", false},
		{"false", false},
		{" ", false},
		{"1", true},
		{"true", true},
		{"TRUE", true},
		{" 1 ", true},
		{"yes", true}, // unparsable but set: do not silently skip
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.value), func(t *testing.T) {
			t.Parallel()
			got := Required(func(k string) string {
				if k == "REQUIRE_X" {
					return tc.value
				}
				return ""
			}, "REQUIRE_X")
			if got != tc.want {
				t.Errorf("Required(REQUIRE_X=%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no sh on PATH: %v", err)
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("not a program"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name       string
		candidates []string
		want       string
		ok         bool
	}{
		{"name on PATH", []string{"sh"}, sh, true},
		{"path as is", []string{sh}, sh, true},
		{"first that exists wins", []string{missing, "ssegate-no-such-program", sh}, sh, true},
		{"directory is not a program", []string{dir}, "", false},
		{"file without exec bit is not a program", []string{plain}, "", false},
		{"nothing", []string{missing, "ssegate-no-such-program"}, "", false},
		{"no candidates", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Find(tc.candidates...)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Find(%q) = %q, %v; want %q, %v", tc.candidates, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRequireFindsProgram(t *testing.T) {
	t.Parallel()
	if got := Require(t, "REQUIRE_X", "it is everywhere", "ssegate-no-such-program", "sh"); !strings.HasSuffix(got, "/sh") {
		t.Fatalf("Require(sh) = %q, want a path to sh", got)
	}
}

func TestStartFailure(t *testing.T) {
	t.Parallel()
	_, err := Start(exec.Command(filepath.Join(t.TempDir(), "missing")))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Start(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestExitedProgram(t *testing.T) {
	t.Parallel()
	p, err := Start(exec.Command(Require(t, "REQUIRE_X", "coreutils", "true", "/bin/true")))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(wait):
		_ = p.Kill(wait)
		t.Fatalf("true did not exit within %v", wait)
	}
	if err := p.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil for true", err)
	}
	if err := p.Kill(wait); err != nil {
		t.Fatalf("Kill of an exited program = %v, want nil", err)
	}
}

// TestRequireSkipsWhenMissing: without its REQUIRE_ variable set, a
// missing program skips the test. (The failing side cannot be observed
// from inside the test binary; Required's table covers its decision.)
func TestRequireSkipsWhenMissing(t *testing.T) {
	t.Parallel()
	const env = "SSEGATE_TESTPROC_NEVER_SET"
	if Required(os.Getenv, env) {
		t.Skipf("%s is set", env)
	}
	skipped := false
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t, env, "nowhere", "ssegate-no-such-program")
		t.Error("Require returned for a missing program")
	})
	if !skipped {
		t.Fatal("a missing program did not skip the test")
	}
}
