package httpserver

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/test/observability/metricrules"
)

// TestMain fails the package when a test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newMetricsEcho returns an echo from NewEcho on reg with test routes:
// /ok, a stream route, an *httperr.Error, an echo error, a plain error
// (500), a panic, and a parameterised route.
func newMetricsEcho(reg *prometheus.Registry) *echo.Echo {
	e := NewEcho(Options{Registry: reg, StreamRoutes: []string{"/stream"}})
	e.GET("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/stream", func(c echo.Context) error { return c.String(http.StatusOK, "data: x\n\n") })
	e.GET("/busy", func(echo.Context) error {
		return httperr.Unavailable("redis_unavailable", "try later", 0)
	})
	e.GET("/teapot", func(echo.Context) error { return echo.NewHTTPError(http.StatusTeapot) })
	e.GET("/broken", func(echo.Context) error { return errors.New("boom") })
	e.GET("/panic", func(echo.Context) error { panic("boom") })
	e.GET("/items/:id", func(c echo.Context) error { return c.String(http.StatusOK, c.Param("id")) })
	return e
}

// serve sends one request through e and returns the recorder.
func serve(e *echo.Echo, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// requestCounts returns ssegate_http_requests_total as "route code" → count.
func requestCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	mf := metricrules.Find(mfs, "ssegate_http_requests_total")
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		var route, code string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "route":
				route = l.GetValue()
			case "code":
				code = l.GetValue()
			}
		}
		out[route+" "+code] += m.GetCounter().GetValue()
	}
	return out
}

func TestRequestMetricsRouteAndCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, target string
		want                 string // "route code"; "" = not counted
	}{
		{"matched route", http.MethodGet, "/ok", "/ok 200"},
		{"route pattern, not the path", http.MethodGet, "/items/12345", "/items/:id 200"},
		{"unknown path", http.MethodGet, "/no/such/path", "unmatched 404"},
		{"unknown path with query", http.MethodGet, "/no/such/path?user=alice&token=secret", "unmatched 404"},
		{"unknown deep path", http.MethodGet, "/" + strings.Repeat("a/", 50), "unmatched 404"},
		{"wrong method on a known route", http.MethodDelete, "/ok", "/ok 405"},
		{"httperr status", http.MethodGet, "/busy", "/busy 503"},
		{"echo error status", http.MethodGet, "/teapot", "/teapot 418"},
		{"plain error is a 500", http.MethodGet, "/broken", "/broken 500"},
		{"panic is a 500", http.MethodGet, "/panic", "/panic 500"},
		{"stream route not counted", http.MethodGet, "/stream", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			e := newMetricsEcho(reg)
			serve(e, tc.method, tc.target, nil)
			got := requestCounts(t, reg)
			var want map[string]float64
			if tc.want != "" {
				want = map[string]float64{tc.want: 1}
			}
			if len(got) != len(want) || got[tc.want] != want[tc.want] {
				t.Errorf("ssegate_http_requests_total = %v, want %v", got, want)
			}
		})
	}
}

// TestRequestMetricsBoundedRoutes sends many distinct unknown URLs and
// checks that they share one series: a route label from the raw URL would
// let any client create unbounded time series.
func TestRequestMetricsBoundedRoutes(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newMetricsEcho(reg)
	const n = 50
	for i := range n {
		serve(e, http.MethodGet, "/probe/"+strings.Repeat("x", i)+"?q="+strings.Repeat("y", i), nil)
		serve(e, http.MethodGet, "/items/"+strings.Repeat("z", i+1), nil)
	}
	got := requestCounts(t, reg)
	want := map[string]float64{"unmatched 404": n, "/items/:id 200": n}
	if len(got) != len(want) || got["unmatched 404"] != n || got["/items/:id 200"] != n {
		t.Errorf("series %v, want %v", got, want)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	mf := metricrules.Find(mfs, "ssegate_http_request_duration_seconds")
	if mf == nil || len(mf.GetMetric()) != 2 {
		t.Errorf("duration series: %v, want 2 (unmatched, /items/:id)", mf)
	}
}

func TestRequestMetricsFollowNamingRules(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newMetricsEcho(reg)
	for _, p := range []string{"/ok", "/busy", "/no/such/path", "/panic"} {
		serve(e, http.MethodGet, p, nil)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if err := metricrules.Check(mfs, metricrules.Options{NativeHistograms: true}); err != nil {
		t.Errorf("metric rules:\n%v", err)
	}
	mf := metricrules.Find(mfs, "ssegate_http_request_duration_seconds")
	if mf == nil {
		t.Fatal("ssegate_http_request_duration_seconds not gathered")
	}
	for _, m := range mf.GetMetric() {
		if n := len(m.GetHistogram().GetBucket()); n != 15 {
			t.Errorf("%v: %d explicit buckets, want 15 (100µs to 5s)", m.GetLabel(), n)
		}
	}
}

func TestMetricsEndpointHasRuntimeCollectors(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	newMetricsEcho(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, name := range []string{
		"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds", "go_info",
		"process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_cpu_seconds_total",
	} {
		if metricrules.Find(mfs, name) == nil {
			t.Errorf("%s not registered", name)
		}
	}
}

func TestMetricsEndpointFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, accept string
		wantType     expfmt.FormatType
		wantPrefix   string // of Content-Type
	}{
		{"no Accept: text format 0.0.4", "", expfmt.TypeTextPlain, "text/plain; version=0.0.4"},
		{"Prometheus text", "text/plain;version=0.0.4;q=1", expfmt.TypeTextPlain, "text/plain; version=0.0.4"},
		{"OpenMetrics", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", expfmt.TypeOpenMetrics, "application/openmetrics-text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			e := newMetricsEcho(reg)
			serve(e, http.MethodGet, "/ok", nil)
			h := http.Header{}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			rec := serve(e, http.MethodGet, "/metrics", h)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /metrics: %d", rec.Code)
			}
			ct := rec.Header().Get("Content-Type")
			if !strings.HasPrefix(ct, tc.wantPrefix) {
				t.Fatalf("Content-Type %q, want prefix %q", ct, tc.wantPrefix)
			}
			body := rec.Body.String()
			for _, want := range []string{"# HELP ssegate_http_request_duration_seconds Duration", "# TYPE ssegate_http_request_duration_seconds histogram", `ssegate_http_requests_total{code="200",route="/ok"} 1`, "go_goroutines ", "process_resident_memory_bytes "} {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q", want)
				}
			}
			if tc.wantType == expfmt.TypeOpenMetrics && !strings.HasSuffix(body, "# EOF\n") {
				t.Errorf("OpenMetrics body does not end with # EOF")
			}
			if tc.wantType == expfmt.TypeTextPlain {
				p := expfmt.NewTextParser(model.LegacyValidation)
				if _, err := p.TextToMetricFamilies(strings.NewReader(body)); err != nil {
					t.Errorf("text format does not parse: %v", err)
				}
			}
		})
	}
}

// TestMetricsEndpointOverHTTP scrapes /metrics over a real loopback
// socket, as Prometheus does, and parses it with the strict (legacy names)
// text parser.
func TestMetricsEndpointOverHTTP(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(newMetricsEcho(reg))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	get := func(path string) *http.Response {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}
	resp := get("/ok")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp = get("/metrics")
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for name, typ := range map[string]dto.MetricType{
		"go_goroutines":                         dto.MetricType_GAUGE,
		"process_resident_memory_bytes":         dto.MetricType_GAUGE,
		"ssegate_http_requests_total":           dto.MetricType_COUNTER,
		"ssegate_http_request_duration_seconds": dto.MetricType_HISTOGRAM,
	} {
		if mf := families[name]; mf == nil || mf.GetType() != typ {
			t.Errorf("%s: %v, want a %s", name, mf, typ)
		}
	}
}
