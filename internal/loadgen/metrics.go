package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Gateway metric names scraped from /metrics (docs/CONTRACT.md).
const (
	metricConnections = "ssegate_gateway_connections"
	metricDelivered   = "ssegate_gateway_events_delivered_total"
)

// MetricsSample holds the gateway metrics the tool compares with its own
// counts, summed over all scraped URLs.
type MetricsSample struct {
	// Connections is ssegate_gateway_connections (open streams).
	Connections float64 `json:"connections"`
	// Delivered is ssegate_gateway_events_delivered_total.
	Delivered float64 `json:"events_delivered_total"`
}

// scrapeMetrics fetches each URL and sums the two gateway metrics.
func scrapeMetrics(ctx context.Context, client *http.Client, urls []string) (MetricsSample, error) {
	var sum MetricsSample
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return sum, fmt.Errorf("metrics %s: %w", u, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return sum, fmt.Errorf("metrics %s: %w", u, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		_ = resp.Body.Close()
		if err != nil {
			return sum, fmt.Errorf("metrics %s: %w", u, err)
		}
		if resp.StatusCode != http.StatusOK {
			return sum, fmt.Errorf("metrics %s: status %d", u, resp.StatusCode)
		}
		s := parseMetrics(body)
		sum.Connections += s.Connections
		sum.Delivered += s.Delivered
	}
	return sum, nil
}

// parseMetrics sums the samples of the two gateway metrics in a Prometheus
// text exposition (every label set of a name is added up).
func parseMetrics(body []byte) MetricsSample {
	var s MetricsSample
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name, v, ok := metricSample(line)
		if !ok {
			continue
		}
		switch name {
		case metricConnections:
			s.Connections += v
		case metricDelivered:
			s.Delivered += v
		}
	}
	return s
}

// metricSample splits `name{labels} value [timestamp]` into name and value.
func metricSample(line []byte) (string, float64, bool) {
	end := bytes.IndexAny(line, "{ ")
	if end <= 0 {
		return "", 0, false
	}
	name := string(line[:end])
	rest := line[end:]
	if rest[0] == '{' {
		c := bytes.LastIndexByte(rest, '}')
		if c < 0 {
			return "", 0, false
		}
		rest = rest[c+1:]
	}
	f := bytes.Fields(rest)
	if len(f) < 1 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return "", 0, false
	}
	return name, v, true
}
