package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// opaqueValues are values whose content is free-form (settings, Kubernetes
// structures, lists): they are documented as one value.
var opaqueValues = map[string]bool{
	"config": true, "resources": true, "env": true, "labels": true, "annotations": true, "podAnnotations": true,
	"nodeSelector": true, "tolerations": true, "affinity": true, "hosts": true, "tls": true,
}

var valuesKeyLine = regexp.MustCompile(`^( *)([A-Za-z0-9_]+):`)

// valueLeaves returns the dotted path of every documented unit of a values
// file (a scalar, or an opaque value), each with whether a comment line
// stands right above it.
func valueLeaves(t *testing.T, text string) map[string]bool {
	t.Helper()
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		t.Fatalf("values: %v", err)
	}
	leaves := map[string]bool{}
	var stack []string
	prev, skip := "", -1 // skip: depth of the opaque value being passed over
	for _, line := range strings.Split(text, "\n") {
		m := valuesKeyLine.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) != "" {
				prev = line
			}
			continue
		}
		depth := len(m[1]) / 2
		if (skip >= 0 && depth > skip) || depth > len(stack) {
			prev = line
			continue // inside an opaque value
		}
		skip = -1
		stack = append(stack[:depth], m[2])
		node := any(tree)
		for _, k := range stack {
			node = node.(map[string]any)[k]
		}
		_, isMap := node.(map[string]any)
		if !isMap || opaqueValues[m[2]] {
			path := strings.Join(stack, ".")
			leaves[path] = strings.HasPrefix(strings.TrimSpace(prev), "#")
			if isMap {
				skip = depth
			}
		}
		prev = line
	}
	return leaves
}

// TestChartValuesDocumented: every value of values.yaml has a comment right
// above it and a row in the chart's README.md values table.
func TestChartValuesDocumented(t *testing.T) {
	t.Parallel()
	values, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatalf("read values: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	leaves := valueLeaves(t, string(values))
	if len(leaves) < 20 {
		t.Fatalf("only %d values found: %v", len(leaves), leaves)
	}
	for path, commented := range leaves {
		if !commented {
			t.Errorf("values.yaml: %s has no comment right above it", path)
		}
		if !strings.Contains(string(readme), "| `"+path+"` |") {
			t.Errorf("README.md: no row | `%s` | in the values table", path)
		}
	}
}
