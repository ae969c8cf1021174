package observability

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/test/harness"
	"github.com/ssegate/ssegate/test/observability/metricrules"
)

// scrapeEmbedded runs the embedded gateway (which also serves the
// publisher API, so its /metrics has every ssegate metric), drives traffic
// through every kind of route, and returns its /metrics as Prometheus
// parses it.
func scrapeEmbedded(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	g := harness.StartGateway(t, gateway.ProgramConfig{})
	s := harness.Subscribe(t, g.URL+"/api/sse/stream?topic=obs:metrics", nil)
	harness.PublishEvent(t, g.URL, "obs:metrics", 1)
	s.MustNext(t, 5*time.Second)
	for _, r := range []struct {
		path, body string
		headers    []string
		want       int
	}{
		{"/v1/events", `{"topic":"obs:metrics"}`, nil, http.StatusBadRequest},
		{"/v1/events", `{"topic":"obs:metrics","data":2}`, []string{"Idempotency-Key", "k1"}, http.StatusAccepted},
		{"/v1/events", `{"topic":"obs:metrics","data":2}`, []string{"Idempotency-Key", "k1"}, http.StatusOK},
		{"/publish", `{"event_type":"TOMAR","tag_spool":"SP-1"}`, nil, http.StatusAccepted},
	} {
		if res := harness.Post(t, g.URL+r.path, r.body, r.headers...); res.Status != r.want {
			t.Fatalf("POST %s %s: %d %s, want %d", r.path, r.body, res.Status, res.Body, r.want)
		}
	}
	for _, path := range []string{"/no/such/path", "/no/such/path?secret=1", "/healthz", "/readyz", "/static/nope.js"} {
		get(t, g.URL+path, "").Body.Close()
	}
	s.Close()

	// The text format, as a Prometheus without native histograms scrapes.
	resp := get(t, g.URL+"/metrics", "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q, want the Prometheus text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	text, err := p.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("parse /metrics text: %v", err)
	}
	// Protobuf, as a Prometheus with native histograms scrapes: the only
	// format that carries their settings.
	resp = get(t, g.URL+"/metrics", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	var mfs []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode /metrics protobuf (%s): %v", resp.Header.Get("Content-Type"), err)
		}
		mfs = append(mfs, mf)
	}
	if got, want := metricrules.Names(mfs, ""), slices.Sorted(maps.Keys(text)); !slices.Equal(got, want) {
		t.Errorf("protobuf families %v\ndiffer from text families %v", got, want)
	}
	return mfs
}

// get GETs url with an optional Accept header and fails the test on a
// transport error; the caller closes the body.
func get(t *testing.T, url, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

// TestScrapedMetricsFollowRules applies the metric rules to what a real
// scrape of the running program returns after traffic on every route.
func TestScrapedMetricsFollowRules(t *testing.T) {
	t.Parallel()
	mfs := scrapeEmbedded(t)
	err := metricrules.Check(mfs, metricrules.Options{
		NativeHistograms: true,
	})
	if err != nil {
		t.Errorf("metric rules:\n%v", err)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if metricrules.Find(mfs, name) == nil {
			t.Errorf("%s not exported", name)
		}
	}
	// The route label holds route patterns, never a requested path.
	routes := map[string]bool{}
	if mf := metricrules.Find(mfs, "ssegate_http_requests_total"); mf != nil {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					routes[l.GetValue()] = true
				}
			}
		}
	}
	for _, want := range []string{"unmatched", "/healthz", "/readyz", "/static/*", "/v1/events", "/publish"} {
		if !routes[want] {
			t.Errorf("route %q not counted; routes: %v", want, routes)
		}
	}
	for r := range routes {
		if strings.Contains(r, "no/such") || strings.Contains(r, "nope.js") || strings.Contains(r, "?") {
			t.Errorf("route label %q is a raw URL", r)
		}
	}
}

// docMetric is one row of the metrics table of the README's operations section.
type docMetric struct {
	typ    string
	labels []string
}

// operationsTable parses the metrics table of the README's operations section.
func operationsTable(t *testing.T) map[string]docMetric {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	label := regexp.MustCompile("`([a-z_]+)`")
	out := map[string]docMetric{}
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "| `ssegate_") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("metrics table row with %d cells: %q", len(cells), line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := out[name]; dup {
			t.Errorf("%s listed twice", name)
		}
		var labels []string
		for _, m := range label.FindAllStringSubmatch(cells[3], -1) {
			labels = append(labels, m[1])
		}
		slices.Sort(labels)
		out[name] = docMetric{typ: strings.TrimSpace(cells[2]), labels: labels}
		if strings.TrimSpace(cells[4]) == "" {
			t.Errorf("%s has no meaning in the README's operations section", name)
		}
	}
	return out
}

// contractNames returns the metric names of docs/CONTRACT.md.
func contractNames(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "CONTRACT.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Metrics")
	if !ok {
		t.Fatal("docs/CONTRACT.md has no Metrics section")
	}
	var names []string
	for _, m := range regexp.MustCompile("`(ssegate_[a-z_]+)").FindAllStringSubmatch(section, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// TestOperationsDocListsEveryMetric checks that the metrics table of
// the README's operations section and the list in docs/CONTRACT.md name exactly the
// metrics the services export, with the right types and labels.
func TestOperationsDocListsEveryMetric(t *testing.T) {
	t.Parallel()
	mfs := scrapeEmbedded(t)
	exported := metricrules.Names(mfs, metricrules.Prefix)
	doc := operationsTable(t)
	documented := make([]string, 0, len(doc))
	for name := range doc {
		documented = append(documented, name)
	}
	slices.Sort(documented)
	if !slices.Equal(documented, exported) {
		t.Errorf("the README's operations section lists\n%v\nthe services export\n%v", documented, exported)
	}
	if contract := contractNames(t); !slices.Equal(contract, exported) {
		t.Errorf("docs/CONTRACT.md lists\n%v\nthe services export\n%v", contract, exported)
	}
	for _, name := range exported {
		d, ok := doc[name]
		if !ok {
			continue
		}
		mf := metricrules.Find(mfs, name)
		if want := strings.ToLower(mf.GetType().String()); d.typ != want {
			t.Errorf("%s: docs say %s, exported as %s", name, d.typ, want)
		}
		if got := metricrules.LabelNames(mf); !slices.Equal(d.labels, got) {
			t.Errorf("%s: docs list labels %v, exported with %v", name, d.labels, got)
		}
	}
}
