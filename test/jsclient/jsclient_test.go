package jsclient

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testproc"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// envRequire turns "no node or npm" from a skip into a failure (CI).
	envRequire = "REQUIRE_NODE"
	// pkgDir is the package under test, from this directory.
	pkgDir = "../../clients/js"
	// installWait bounds npm ci (the registry may be slow; never hang).
	installWait = 3 * time.Minute
	// runWait bounds every other node or npm command.
	runWait = 2 * time.Minute
)

// TestPackage installs the package's pinned devDependencies into a copy of
// it, then checks what npm would publish, the TypeScript declarations and
// the whole node --test suite, with the gateway tests against a real
// gateway (embedded nothing: Redis, publisher and gateway are real).
func TestPackage(t *testing.T) {
	node := testproc.Require(t, envRequire, "apt-get install nodejs", "node")
	npm := testproc.Require(t, envRequire, "apt-get install npm", "npm")
	dir := install(t, npm)

	t.Run("npm pack", func(t *testing.T) { checkPack(t, npm, dir) })
	t.Run("tsc", func(t *testing.T) {
		run(t, dir, node, "node_modules/typescript/bin/tsc", "--noEmit", "-p", "test/tsconfig.json")
	})
	t.Run("node --test", func(t *testing.T) {
		redis := redistest.Start(t)
		pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
		g := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: redis.URL()})
		t.Setenv("SSEGATE_TEST_GATEWAY", g.URL)
		t.Setenv("SSEGATE_TEST_PUBLISHER", pub.URL)
		suites, err := filepath.Glob(filepath.Join(dir, "test", "*.test.js"))
		if err != nil || len(suites) == 0 {
			t.Fatalf("no test/*.test.js in %s (%v)", dir, err)
		}
		out := run(t, dir, node, append([]string{"--test", "--test-reporter=spec"}, suites...)...)
		// A gateway test that skipped (no URLs) would pass silently.
		if !strings.Contains(out, "ℹ skipped 0\n") {
			t.Errorf("some node tests were skipped:\n%s", out)
		}
		t.Logf("node --test:\n%s", out)
	})
}

// install copies the package into a temporary directory and runs npm ci
// there.
func install(t *testing.T, npm string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(pkgDir)); err != nil {
		t.Fatalf("copy %s: %v", pkgDir, err)
	}
	_ = os.RemoveAll(filepath.Join(dir, "node_modules")) // a developer's own install
	ctx, cancel := context.WithTimeout(context.Background(), installWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	return dir
}

// run runs name with args in dir and returns its combined output, failing
// the test when it fails.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkPack: the tarball npm would publish holds the module, its
// declarations, the README and package.json, and nothing else (no Go
// files, no tests).
func checkPack(t *testing.T, npm, dir string) {
	out := run(t, dir, npm, "pack", "--dry-run", "--json", "--ignore-scripts")
	var packs []struct {
		Name  string `json:"name"`
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &packs); err != nil || len(packs) != 1 {
		t.Fatalf("npm pack --json: %v\n%s", err, out)
	}
	var files []string
	for _, f := range packs[0].Files {
		files = append(files, f.Path)
	}
	slices.Sort(files)
	want := []string{"README.md", "index.d.ts", "package.json", "src/ssegate.js"}
	if packs[0].Name != "@ssegate/client" || !slices.Equal(files, want) {
		t.Fatalf("npm would publish %s with %v, want @ssegate/client with %v", packs[0].Name, files, want)
	}
}
