package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssegate/ssegate/internal/status"
)

// statusOptions are status's flags.
type statusOptions struct {
	token   string
	asJSON  bool
	timeout time.Duration
}

// gatewayStatus is one gateway's answer, or why there is none.
type gatewayStatus struct {
	url    string
	report status.Report
	err    error
}

// runStatus GETs the status document (internal/status.Report, the same
// type the gateway serves) of every gateway named and prints them as
// tables: one line per gateway, then one per topic per gateway. A gateway
// that does not answer is a line with the reason, and the exit status 1.
func runStatus(ctx context.Context, args []string, o IO) error {
	var opt statusOptions
	fs := newFlags("status", "status [flags] [gateway-url ...]   (no URL: http://localhost:8080)\n\n"+
		"Reads "+status.JSONPath+" of each gateway (enabled with SSEGATE_STATUS_TOKEN and/or\n"+
		"SSEGATE_STATUS_LISTEN; give the status listener's URL when it has one) and prints a table.", o)
	fs.StringVar(&opt.token, "token", o.getenv("SSEGATE_STATUS_TOKEN"), "the gateways' status token (default $SSEGATE_STATUS_TOKEN)")
	fs.BoolVar(&opt.asJSON, "json", false, "print the documents as they are, one JSON object per line")
	fs.DurationVar(&opt.timeout, "timeout", 5*time.Second, "how long each gateway may take to answer")
	if err := parse(fs, args, o); err != nil {
		return err
	}
	urls := fs.Args()
	if len(urls) == 0 {
		urls = []string{"http://localhost:8080"}
	}
	var all []gatewayStatus
	failed := 0
	for _, u := range urls {
		r, err := fetchStatus(ctx, u, opt)
		if errors.Is(err, errUsage) {
			return err
		}
		if err != nil {
			failed++
		}
		all = append(all, gatewayStatus{url: u, report: r, err: err})
	}
	if err := printStatus(o.Stdout, all, opt.asJSON); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d gateways gave no status", failed, len(urls))
	}
	return nil
}

// fetchStatus GETs one gateway's status document.
func fetchStatus(ctx context.Context, base string, opt statusOptions) (status.Report, error) {
	var r status.Report
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return r, usageErrorf("gateway URL %q: want http(s)://host[:port]", base)
	}
	ctx, cancel := context.WithTimeout(ctx, opt.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath(status.JSONPath).String(), nil)
	if err != nil {
		return r, err
	}
	if opt.token != "" {
		req.Header.Set("Authorization", "Bearer "+opt.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return r, errors.New("404: the status page is off or the token is wrong (-token, $SSEGATE_STATUS_TOKEN)")
	case resp.StatusCode != http.StatusOK:
		return r, fmt.Errorf("HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&r); err != nil {
		return r, fmt.Errorf("the answer is not a status document: %w", err)
	}
	return r, nil
}

// printStatus writes the documents, as JSON lines or as two tables.
func printStatus(w io.Writer, all []gatewayStatus, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, g := range all {
			if g.err == nil {
				if err := enc.Encode(g.report); err != nil {
					return err
				}
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GATEWAY\tVERSION\tUPTIME\tCONNECTIONS\tTOPICS\tBROKER\tHEALTHY\tSHARDS UP\tEVICTIONS\tRESETS")
	for _, g := range all {
		if g.err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\n", g.url, g.err)
			continue
		}
		r := g.report
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%t\t%s\t%s\t%s\n", g.url, r.Version,
			(time.Duration(r.UptimeSeconds) * time.Second).String(), r.Connections, len(r.Topics),
			brokerName(r.Broker), r.Broker.Healthy, shardsUp(r.Broker), counts(r.Evictions), counts(r.Resets))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "GATEWAY\tTOPIC\tSUBSCRIBERS\tEVENTS\tRATE/S\tPOSITION")
	for _, g := range all {
		for _, t := range g.report.Topics {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%s\n", g.url, t.Topic, t.Subscribers, t.EventsTotal, t.RatePerSecond, t.Position)
		}
	}
	return tw.Flush()
}

// brokerName is the broker's kind and mode, e.g. "redis/single".
func brokerName(b status.Broker) string {
	if b.Mode == "" {
		return b.Kind
	}
	return b.Kind + "/" + b.Mode
}

// shardsUp is "up/all" of the subscription connections.
func shardsUp(b status.Broker) string {
	up := 0
	for _, s := range b.Shards {
		if s.State == status.ShardUp {
			up++
		}
	}
	return fmt.Sprintf("%d/%d", up, len(b.Shards))
}

// counts writes a reason → count map as "a=1,b=2" (sorted), or 0.
func counts(m map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ",")
}
