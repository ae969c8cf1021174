package validate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// composeFile is the subset of the Compose Specification the checks read.
// `docker-compose config -q` validates the full schema; these tests check
// what the schema cannot: names against the contract and cross-file paths.
type composeFile struct {
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image           string         `json:"image"`
	Command         any            `json:"command"`
	Environment     any            `json:"environment"`
	Volumes         []string       `json:"volumes"`
	StopGracePeriod string         `json:"stop_grace_period"`
	Healthcheck     map[string]any `json:"healthcheck"`
	DependsOn       any            `json:"depends_on"`
}

// env returns the service's environment, from either the map or the list
// form of the Compose Specification.
func (s composeService) env() map[string]string {
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case map[string]any:
		for k, v := range e {
			out[k] = fmt.Sprint(v)
		}
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			out[k] = v
		}
	}
	return out
}

func TestCompose(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	path := filepath.Join(repoRoot, "docker-compose.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read compose file: %v", err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, name := range []string{"redis", "gateway", "publisher", "nginx", "prometheus"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("%s: no service %q", path, name)
		}
	}
	for name, svc := range f.Services {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := svc.env()
			for k := range env {
				if strings.HasPrefix(k, "SSEGATE_") && !c.settings[k] {
					t.Errorf("env %s is not a setting of docs/CONTRACT.md", k)
				}
			}
			if len(svc.Healthcheck) == 0 {
				t.Errorf("no healthcheck")
			}
			// Every bind mount source must exist in the repository.
			for _, v := range svc.Volumes {
				src, _, _ := strings.Cut(v, ":")
				if !strings.HasPrefix(src, "./") {
					continue
				}
				if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(src))); err != nil {
					t.Errorf("volume %q: %v", v, err)
				}
			}
			if _, ok := env["SSEGATE_REDIS_URL"]; ok {
				grace := 25 * time.Second
				if g, ok := env["SSEGATE_SHUTDOWN_GRACE"]; ok {
					if grace, err = time.ParseDuration(g); err != nil {
						t.Fatalf("SSEGATE_SHUTDOWN_GRACE %q: %v", g, err)
					}
				}
				stop, err := time.ParseDuration(svc.StopGracePeriod)
				if err != nil || stop <= grace {
					t.Errorf("stop_grace_period %q must exceed SSEGATE_SHUTDOWN_GRACE %s (compose's default is 10s)", svc.StopGracePeriod, grace)
				}
				if svc.DependsOn == nil {
					t.Errorf("uses Redis but does not depend on it")
				}
			}
		})
	}
	if redis, ok := f.Services["redis"]; ok {
		cmd := strings.Join(strings.Fields(fmt.Sprint(redis.Command)), " ")
		for _, want := range []string{"--appendonly yes", "--appendfsync everysec"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("redis command %q lacks %q", cmd, want)
			}
		}
		if !slices.ContainsFunc(redis.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) {
			t.Errorf("redis: no volume on /data (AOF would not survive the container)")
		}
	}
}

// dockerStage is one FROM ... AS name section of the Dockerfile.
type dockerStage struct {
	name  string
	base  string
	lines []string // instructions with continuation lines joined
}

var fromLine = regexp.MustCompile(`(?i)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$`)

// parseDockerfile splits a Dockerfile into stages (comments dropped,
// backslash continuations joined).
func parseDockerfile(data []byte) ([]dockerStage, error) {
	var stages []dockerStage
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	flush := func() error {
		line := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		if line == "" {
			return nil
		}
		if m := fromLine.FindStringSubmatch(line); m != nil {
			stages = append(stages, dockerStage{name: m[2], base: m[1]})
			return nil
		}
		if len(stages) == 0 {
			if strings.HasPrefix(strings.ToUpper(line), "ARG ") {
				return nil
			}
			return fmt.Errorf("instruction before FROM: %q", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		return nil
	}
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") {
			continue
		}
		if body, ok := strings.CutSuffix(text, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(text)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return stages, flush()
}

// has reports whether a stage, or a stage it is built FROM, has an
// instruction starting with prefix. A prefix "LABEL key=" matches a LABEL
// instruction that sets key among others.
func has(stages []dockerStage, s dockerStage, prefix string) bool {
	label, isLabel := strings.CutPrefix(prefix, "LABEL ")
	for range len(stages) { // bounded walk up the FROM chain
		for _, l := range s.lines {
			if strings.HasPrefix(l, prefix) {
				return true
			}
			if isLabel && strings.HasPrefix(l, "LABEL ") && strings.Contains(l, " "+label) {
				return true
			}
		}
		i := slices.IndexFunc(stages, func(p dockerStage) bool { return p.name == s.base })
		if i < 0 {
			return false
		}
		s = stages[i]
	}
	return false
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(repoRoot, "deploy", "Dockerfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages, err := parseDockerfile(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	byName := map[string]dockerStage{}
	for _, s := range stages {
		byName[s.name] = s
	}
	build, ok := byName["build"]
	if !ok {
		t.Fatalf("%s: no build stage", path)
	}
	buildText := strings.Join(build.lines, "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "./cmd/gateway", "./cmd/publisher", "./cmd/ssebench", "./cmd/ssegatectl"} {
		if !strings.Contains(buildText, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	tests := []struct {
		target string
		port   string // "" for no server
	}{
		{"gateway", "8080"},
		{"publisher", "8081"},
		{"ssebench", ""},
		{"ssegatectl", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			s, ok := byName[tt.target]
			if !ok {
				t.Fatalf("no stage %q (docker build --target %s)", tt.target, tt.target)
			}
			bin := "/usr/local/bin/" + tt.target
			wants := []string{
				"USER 65532:65532",
				"COPY --from=build /out/" + tt.target + " " + bin,
				`ENTRYPOINT ["` + bin + `"]`,
				"LABEL org.opencontainers.image.title=",
				"LABEL org.opencontainers.image.source=",
			}
			if tt.port != "" {
				wants = append(wants, "EXPOSE "+tt.port, "HEALTHCHECK ")
				if !has(stages, s, `HEALTHCHECK`) || !strings.Contains(strings.Join(s.lines, "\n"), `CMD ["`+bin+`", "-healthcheck"]`) {
					t.Errorf("HEALTHCHECK does not run %s -healthcheck", bin)
				}
			}
			for _, w := range wants {
				if !has(stages, s, w) {
					t.Errorf("stage %s: no instruction %q", tt.target, w)
				}
			}
			root := s
			for range len(stages) {
				i := slices.IndexFunc(stages, func(p dockerStage) bool { return p.name == root.base })
				if i < 0 {
					break
				}
				root = stages[i]
			}
			if !strings.HasPrefix(root.base, "gcr.io/distroless/static") && root.base != "scratch" {
				t.Errorf("stage %s is based on %s, want distroless/static or scratch", tt.target, root.base)
			}
		})
	}
}
