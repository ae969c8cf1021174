package validate

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageBinaries builds what the Dockerfile's build stage builds, with
// its flags (TestDockerfile checks the Dockerfile carries them), since no
// Docker engine is needed for that part: each binary must be static (the
// distroless/static base has no libc), small, and print the version and
// commit given as build args.
func TestImageBinaries(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version=9.8.7 -X main.commit=abc1234",
		"-o", out+string(filepath.Separator), "./cmd/gateway", "./cmd/publisher", "./cmd/ssebench", "./cmd/ssegatectl")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build as in the Dockerfile: %v\n%s", err, b)
	}
	for _, name := range []string{"gateway", "publisher", "ssebench", "ssegatectl"} {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(out, name)
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Fatalf("%s needs a dynamic loader: not static", name)
				}
			}
			if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
				t.Fatalf("%s links %v: not static", name, libs)
			}
			st, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 40<<20 {
				t.Errorf("%s is %d MiB, want a small image", name, st.Size()>>20)
			}
			if name == "ssebench" || name == "ssegatectl" {
				return
			}
			v, err := exec.Command(bin, "-version").CombinedOutput()
			if want := name + " 9.8.7 (commit abc1234)"; err != nil || strings.TrimSpace(string(v)) != want {
				t.Fatalf("%s -version = %q, %v; want %q", name, v, err, want)
			}
			t.Logf("%s: %.1f MiB, static", name, float64(st.Size())/(1<<20))
		})
	}
}
