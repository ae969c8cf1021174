package configtest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestEnvNames(t *testing.T) {
	t.Parallel()
	usage := "Usage of x:\n\nFLAG  ENVIRONMENT  DEFAULT  MEANING\n-listen  SSEGATE_LISTEN_ADDR  :8080  address\n-v  SSEGATE_SHOW_VERSION  false  print\n  continued help text\n"
	if got, want := EnvNames(usage), []string{"SSEGATE_LISTEN_ADDR", "SSEGATE_SHOW_VERSION"}; !slices.Equal(got, want) {
		t.Fatalf("EnvNames = %v, want %v", got, want)
	}
}

func TestRequireMentioned(t *testing.T) {
	t.Parallel()
	doc := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(doc, []byte("| `SSEGATE_MAX_CONNECTIONS_PER_IP` | … |\n| SSEGATE_RETRY | … |\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		names    []string
		wantFail bool
	}{
		{"documented", []string{"SSEGATE_RETRY", "SSEGATE_MAX_CONNECTIONS_PER_IP"}, false},
		{"only a longer name documented", []string{"SSEGATE_MAX_CONNECTIONS"}, true},
		{"not documented", []string{"SSEGATE_NOPE"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{TB: t}
			RequireMentioned(rec, tt.names, doc)
			if rec.failed != tt.wantFail {
				t.Fatalf("failed = %v, want %v", rec.failed, tt.wantFail)
			}
		})
	}
}

// recorder notes a failure instead of failing the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
