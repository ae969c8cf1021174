package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// dashboardPath is the Grafana dashboard, relative to this module.
var dashboardPath = filepath.Join(repoRoot, "deploy", "grafana", "ssegate-dashboard.json")

// dsVariable is the data source variable every panel and query must use, so
// the dashboard works with whatever Prometheus the importer picks.
const dsVariable = "${DS_PROMETHEUS}"

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	// Panels holds the children of a collapsed row.
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// flatten returns every panel, including those nested in collapsed rows.
func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatalf("read dashboard: %v", err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: invalid JSON: %v", dashboardPath, err)
	}
	return d
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	d := loadDashboard(t)

	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard needs a uid and a title")
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want >= 36 (Grafana 9+)", d.SchemaVersion)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Errorf("templating: no datasource variable DS_PROMETHEUS of type prometheus")
	}

	referenced := map[string]bool{}
	ids := map[int]string{}
	for _, p := range flatten(d.Panels) {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("%s: id also used by %q", where, prev)
		}
		ids[p.ID] = p.Title
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: bad gridPos %+v", where, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" {
			t.Errorf("%s: no title", where)
		}
		if p.Datasource == nil || p.Datasource.UID != dsVariable {
			t.Errorf("%s: datasource %+v, want uid %s", where, p.Datasource, dsVariable)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", where)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != nil && tg.Datasource.UID != dsVariable {
				t.Errorf("%s: query %s datasource %+v, want uid %s", where, tg.RefID, tg.Datasource, dsVariable)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: query %s has no expr", where, tg.RefID)
			}
			for _, m := range c.checkExprMetrics(t, where, tg.Expr) {
				referenced[m] = true
			}
		}
	}

	var missing []string
	for m := range c.metrics {
		if !referenced[m] {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics of docs/CONTRACT.md in no dashboard panel: %v", missing)
	}
}

// promRules is the subset of a Prometheus rule file that the checks read.
type promRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert  string `json:"alert"`
			Record string `json:"record"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

// TestAlertsUseContractMetrics catches alerts on misspelt metric names, which
// promtool accepts (an unknown series simply never fires).
func TestAlertsUseContractMetrics(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	path := filepath.Join(repoRoot, "deploy", "prometheus", "alerts.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read alerts: %v", err)
	}
	var rules promRules
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	want := []string{"SubscriptionDown", "DeliveryLatencyHigh", "EvictionRateHigh", "PublishErrorRateHigh", "NoEventsFlowing", "TargetDown"}
	have := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			have[r.Alert] = true
			c.checkExprMetrics(t, "alert "+r.Alert, r.Expr)
		}
	}
	for _, name := range want {
		if !have[name] {
			t.Errorf("%s: no alert %s", path, name)
		}
	}
}
