// Package configtest checks that a program's settings are documented: the
// environment variables its -h lists must appear in the docs users read.
package configtest

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// EnvNames returns the environment variables in a config.Set's usage text
// (the second column of each setting's line).
func EnvNames(usage string) []string {
	var names []string
	for line := range strings.Lines(usage) {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "SSEGATE_") {
			names = append(names, f[1])
		}
	}
	return names
}

// RequireMentioned fails t for every name that none of the files at paths
// mentions as a whole word.
func RequireMentioned(t testing.TB, names []string, paths ...string) {
	t.Helper()
	var docs strings.Builder
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("configtest: %v", err)
		}
		docs.Write(b)
	}
	if len(names) == 0 {
		t.Fatal("configtest: no settings in the usage text")
	}
	for _, n := range names {
		// A whole word: SSEGATE_MAX_CONNECTIONS_PER_IP does not document
		// SSEGATE_MAX_CONNECTIONS.
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).MatchString(docs.String()) {
			t.Errorf("setting %s is documented in none of %v", n, paths)
		}
	}
}
