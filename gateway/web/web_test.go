package web_test

import (
	"bytes"
	"context"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ssegate/ssegate/gateway/web"
)

// nodeTimeout bounds every node process a test starts.
const nodeTimeout = 30 * time.Second

func TestFSContainsFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mimeType string
		contains string
	}{
		{"index.html", "text/html", "<title>"},
		{"ssegate.js", "text/javascript", "SSEGate"},
		{"ssegate.mjs", "text/javascript", "export default SSEGate"},
		{"ssegate.js", "text/javascript", "globalThis.SSEGate = SSEGate"},
		{"app.js", "text/javascript", "window.__ssegate"},
		{"style.css", "text/css", "data-status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := fs.ReadFile(webFS(t), tt.name)
			if err != nil {
				t.Fatalf("read %s: %v", tt.name, err)
			}
			if !bytes.Contains(b, []byte(tt.contains)) {
				t.Errorf("%s does not contain %q", tt.name, tt.contains)
			}
			// Module scripts and stylesheets are refused by browsers when served
			// with the wrong Content-Type, so check what Go's mime table gives.
			if got := mime.TypeByExtension(path.Ext(tt.name)); !strings.HasPrefix(got, tt.mimeType) {
				t.Errorf("Content-Type for %s = %q, want %s", tt.name, got, tt.mimeType)
			}
		})
	}
}

func TestFSServesOverHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.FileServerFS(webFS(t)))
	t.Cleanup(srv.Close)
	tests := []struct {
		path string
		code int
	}{
		{"/", http.StatusOK}, // index.html
		{"/app.js", http.StatusOK},
		{"/web.go", http.StatusNotFound}, // only the static files are embedded
		{"/memfs.go", http.StatusNotFound},
		{"/ssegate.mjs", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			resp, err := srv.Client().Get(srv.URL + tt.path)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != tt.code {
				t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.code)
			}
		})
	}
}

// TestIndexUsesOnlyLocalResources keeps the page usable offline and on a
// factory network without internet access: no CDN, no remote fonts.
func TestIndexUsesOnlyLocalResources(t *testing.T) {
	t.Parallel()
	files := webFS(t)
	b, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	html := strings.ToLower(string(b))
	for _, bad := range []string{"http://", "https://", `src="//`, `href="//`} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html contains %q: only local resources are allowed", bad)
		}
	}
	// Every referenced resource must be one of the embedded files, served by the
	// gateway under /static/ (index.html itself is served at /).
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(b), -1)
	if len(refs) == 0 {
		t.Fatal("index.html references no resources")
	}
	for _, m := range refs {
		ref := m[1]
		t.Run(ref, func(t *testing.T) {
			if strings.HasPrefix(ref, "data:") {
				return
			}
			name, ok := strings.CutPrefix(ref, "static/")
			if !ok {
				t.Fatalf("reference %q is not under static/", ref)
			}
			if _, err := fs.Stat(files, name); err != nil {
				t.Errorf("reference %q: %v", ref, err)
			}
		})
	}
}

// nodePath returns the node binary, or skips the test when node is missing and
// REQUIRE_NODE is unset.
func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("REQUIRE_NODE") != "" {
			t.Fatalf("node not found and REQUIRE_NODE is set: %v", err)
		}
		t.Skipf("node not found: %v", err)
	}
	return p
}

func TestScriptsParse(t *testing.T) {
	t.Parallel()
	node := nodePath(t)
	dir := t.TempDir()
	files := webFS(t)
	for _, name := range []string{"ssegate.js", "ssegate.mjs", "app.js"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Check the embedded bytes, which are what the gateway serves.
			b, err := fs.ReadFile(files, name)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			file := dir + "/" + name
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatalf("write %s: %v", file, err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
			defer cancel()
			if out, err := exec.CommandContext(ctx, node, "--check", file).CombinedOutput(); err != nil {
				t.Errorf("node --check %s: %v\n%s", name, err, out)
			}
		})
	}
}

// webFS returns web.FS() and fails the test on an error.
func webFS(t *testing.T) fs.FS {
	t.Helper()
	files, err := web.FS()
	if err != nil {
		t.Fatalf("web.FS: %v", err)
	}
	return files
}

// TestFSIsAFileSystem checks the in-memory file system against io/fs's
// contracts (Open, Stat, ReadDir, ReadFile, Seek), which http.ServeFileFS
// and the gateway's static route rely on.
func TestFSIsAFileSystem(t *testing.T) {
	t.Parallel()
	if err := fstest.TestFS(webFS(t), "index.html", "app.js", "style.css", "ssegate.js", "ssegate.mjs"); err != nil {
		t.Fatal(err)
	}
}
