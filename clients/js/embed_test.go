package js

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestClassicLayout: the build refuses a source it cannot wrap, with
// ErrLayout, instead of serving a script that fails in the browser.
func TestClassicLayout(t *testing.T) {
	t.Parallel()
	tail := string(exportsMarker) + "export { SSEGate, connect };\nexport default SSEGate;\n"
	for _, tc := range []struct {
		name, src string
		ok        bool
	}{
		{"the real source", string(module), true},
		{"minimal", "var SSEGate = {};" + tail, true},
		{"no marker", "var SSEGate = {};\nexport default SSEGate;\n", false},
		{"import before the marker", "import x from './x.js';\nvar SSEGate = {};" + tail, false},
		{"inline export", "export var SSEGate = {};" + tail, false},
		{"no default export", "var SSEGate = {};" + string(exportsMarker) + "export { SSEGate };\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := classic([]byte(tc.src))
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrLayout)) {
				t.Fatalf("classic: %v, want ok=%v or ErrLayout", err, tc.ok)
			}
			if tc.ok && (bytes.Contains(got, []byte("\nexport ")) || !bytes.Contains(got, []byte("globalThis.SSEGate = SSEGate;"))) {
				t.Fatalf("classic build:\n%s", got)
			}
		})
	}
}

// TestClassicRunsAsScript runs the classic build in Node as a CommonJS
// script: it defines globalThis.SSEGate, exports it, and its connect is the
// module's (version and the missing-EventSource error).
func TestClassicRunsAsScript(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("REQUIRE_NODE") != "" {
			t.Fatalf("node not found and REQUIRE_NODE is set: %v", err)
		}
		t.Skipf("node not found: %v", err)
	}
	b, err := Classic()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ssegate.cjs")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	script := `const m = require(process.argv[1]);
if (globalThis.SSEGate !== m || typeof m.connect !== 'function' || m.version !== require(process.argv[2]).version) process.exit(2);
try { m.connect({}); process.exit(3); } catch (e) { if (!/EventSource is not available/.test(e.message)) process.exit(4); }`
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pkg, _ := filepath.Abs("package.json")
	if out, err := exec.CommandContext(ctx, node, "-e", script, file, pkg).CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
