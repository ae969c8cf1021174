package nginx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// deployDir holds the nginx configuration that ships with ssegate, relative
// to this package's directory (go test runs in it).
const deployDir = "../../deploy/nginx"

// rule rewrites the directive lines of a configuration that match re
// (comment lines are left alone) and demands between min and max matching
// lines, so a reshaped deploy file fails the test instead of silently
// testing something else.
type rule struct {
	name     string
	re       *regexp.Regexp
	repl     string // literal replacement of the match
	min, max int
}

// rewrite applies rules line by line and reports every rule whose match
// count is out of range.
func rewrite(src string, rules []rule) (string, error) {
	counts := make([]int, len(rules))
	lines := strings.Split(src, "\n")
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for j, r := range rules {
			if r.re.MatchString(line) {
				counts[j]++
				line = r.re.ReplaceAllLiteralString(line, r.repl)
			}
		}
		lines[i] = line
	}
	var errs []error
	for j, r := range rules {
		if counts[j] < r.min || counts[j] > r.max {
			errs = append(errs, fmt.Errorf("rule %s: %d directive lines match %q, want %d to %d", r.name, counts[j], r.re, r.min, r.max))
		}
	}
	return strings.Join(lines, "\n"), errors.Join(errs...)
}

// target says where the rendered nginx points and how it is tuned.
type target struct {
	dir         string        // prefix directory (absolute) for every file nginx touches
	listen      string        // 127.0.0.1:port nginx listens on
	gateway     string        // 127.0.0.1:port of the gateway upstream
	publisher   string        // 127.0.0.1:port of the publisher upstream
	readTimeout time.Duration // proxy_read_timeout of the stream location
	root        bool          // nginx runs as root: keep the workers root too
}

// siteRules turn deploy/nginx/ssegate.conf into a loopback server.
func siteRules(tg target) []rule {
	return []rule{
		{"gateway upstream", regexp.MustCompile(`\bserver\s+gateway:8080\b`), "server " + tg.gateway, 1, 1},
		{"publisher upstream", regexp.MustCompile(`\bserver\s+publisher:8081\b`), "server " + tg.publisher, 1, 1},
		{"listen", regexp.MustCompile(`\blisten\s+80\s*;`), "listen " + tg.listen + ";", 1, 1},
		{"listen ipv6", regexp.MustCompile(`\blisten\s+\[::\]:80\s*;`), "", 0, 1},
		{"read timeout", regexp.MustCompile(`\bproxy_read_timeout\s+[^;]+;`), fmt.Sprintf("proxy_read_timeout %dms;", tg.readTimeout.Milliseconds()), 1, 1},
		{"access log", regexp.MustCompile(`\baccess_log\s+/dev/stdout\s+ssegate\s*;`), "access_log " + filepath.Join(tg.dir, "access.log") + " ssegate;", 1, 1},
	}
}

// mainRules turn deploy/nginx/nginx.conf into one that keeps every file in
// tg.dir. pid and error_log are removed because the command line sets them
// (-g), and a duplicate pid directive is an error.
func mainRules(tg target) []rule {
	temp := "http {"
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temp += fmt.Sprintf("\n    %s_temp_path %s;", kind, filepath.Join(tg.dir, "temp", kind))
	}
	return []rule{
		{"pid", regexp.MustCompile(`^\s*pid\s+[^;]*;`), "", 0, 1},
		{"error_log", regexp.MustCompile(`^\s*error_log\s+[^;]*;`), "", 0, 1},
		{"access_log", regexp.MustCompile(`\baccess_log\s+[^;]*;`), "access_log " + filepath.Join(tg.dir, "access.log") + ";", 0, 1},
		{"mime.types", regexp.MustCompile(`\binclude\s+/etc/nginx/mime\.types\s*;`), "include " + filepath.Join(tg.dir, "mime.types") + ";", 1, 1},
		{"site", regexp.MustCompile(`\binclude\s+/etc/nginx/ssegate/ssegate\.conf\s*;`), "include " + filepath.Join(tg.dir, "ssegate.conf") + ";", 1, 1},
		{"temp paths", regexp.MustCompile(`^http\s*\{`), temp, 1, 1},
	}
}

// leftovers are strings no directive of a rendered file may still contain.
var leftovers = []string{"/etc/nginx/", "gateway:8080", "publisher:8081"}

// mimeTypes is enough for the gateway's page and scripts.
const mimeTypes = `types {
    text/html html;
    text/css css;
    application/javascript js mjs;
    application/json json;
}
`

// render writes nginx.conf, ssegate.conf and mime.types into tg.dir from the
// given deploy files.
func render(tg target, mainSrc, siteSrc string) error {
	site, err := rewrite(siteSrc, siteRules(tg))
	if err != nil {
		return fmt.Errorf("ssegate.conf: %w", err)
	}
	main, err := rewrite(mainSrc, mainRules(tg))
	if err != nil {
		return fmt.Errorf("nginx.conf: %w", err)
	}
	if tg.root {
		// As root, nginx would run its workers as nobody, who cannot enter
		// the test's private temporary directory.
		main = "user root;\n" + main
	}
	for name, text := range map[string]string{"ssegate.conf": site, "nginx.conf": main} {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, bad := range leftovers {
				if strings.Contains(line, bad) {
					return fmt.Errorf("%s: substitution missed %q in %q", name, bad, strings.TrimSpace(line))
				}
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(tg.dir, "temp"), 0o700); err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	for name, text := range map[string]string{"ssegate.conf": site, "nginx.conf": main, "mime.types": mimeTypes} {
		if err := os.WriteFile(filepath.Join(tg.dir, name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// readDeploy returns deploy/nginx/nginx.conf and ssegate.conf.
func readDeploy(t testing.TB) (mainSrc, siteSrc string) {
	t.Helper()
	m, err := os.ReadFile(filepath.Join(deployDir, "nginx.conf"))
	if err != nil {
		t.Fatalf("read deploy config: %v", err)
	}
	s, err := os.ReadFile(filepath.Join(deployDir, "ssegate.conf"))
	if err != nil {
		t.Fatalf("read deploy config: %v", err)
	}
	return string(m), string(s)
}

// TestRender checks the rendering itself (no nginx needed): the shipped
// files render, and a reshaped file is refused rather than half-rewritten.
func TestRender(t *testing.T) {
	t.Parallel()
	mainSrc, siteSrc := readDeploy(t)
	tests := []struct {
		name     string
		mainSrc  string
		siteSrc  string
		root     bool
		wantErr  string // substring; "" = success
		wantSite []string
		wantMain []string
	}{
		{
			name: "shipped files", mainSrc: mainSrc, siteSrc: siteSrc,
			wantSite: []string{"server 127.0.0.1:1001 ", "server 127.0.0.1:1002 ", "listen 127.0.0.1:1000;", "proxy_read_timeout 1000ms;"},
			wantMain: []string{"proxy_temp_path ", "/ssegate.conf;"},
		},
		{
			name: "root keeps root workers", mainSrc: mainSrc, siteSrc: siteSrc, root: true,
			wantMain: []string{"user root;"},
		},
		{
			name: "upstream renamed", mainSrc: mainSrc, siteSrc: strings.ReplaceAll(siteSrc, "server gateway:8080", "server gw:8080"),
			wantErr: "rule gateway upstream",
		},
		{
			name: "read timeout removed", mainSrc: mainSrc, siteSrc: strings.ReplaceAll(siteSrc, "proxy_read_timeout 1h;", ""),
			wantErr: "rule read timeout",
		},
		{
			name: "site include moved", mainSrc: strings.ReplaceAll(mainSrc, "/etc/nginx/ssegate/ssegate.conf", "/etc/nginx/conf.d/*.conf"), siteSrc: siteSrc,
			wantErr: "rule site",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tg := target{dir: dir, listen: "127.0.0.1:1000", gateway: "127.0.0.1:1001", publisher: "127.0.0.1:1002", readTimeout: time.Second, root: tc.root}
			err := render(tg, tc.mainSrc, tc.siteSrc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("render error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			for file, wants := range map[string][]string{"ssegate.conf": tc.wantSite, "nginx.conf": tc.wantMain} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range wants {
					if !strings.Contains(string(b), w) {
						t.Errorf("%s lacks %q:\n%s", file, w, b)
					}
				}
			}
		})
	}
}
