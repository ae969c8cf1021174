package ctl

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/status"
	"github.com/ssegate/ssegate/test/harness"
)

// TestStatus: status reads two real gateways' status documents with their
// token and prints one row per gateway (its connections and topics) and
// one per topic (subscribers, events fanned out); without the token the
// gateways answer 404 and status exits 1 saying the page is off or the
// token wrong.
func TestStatus(t *testing.T) {
	const token = "status-token-0123456789"
	srv := redistest.Start(t)
	statusEnv := map[string]string{"SSEGATE_STATUS_TOKEN": token}
	gw1, gw2 := startGateway(t, srv.URL()+"/0", statusEnv), startGateway(t, srv.URL()+"/0", statusEnv)
	pub := startPublisher(t, srv.URL()+"/0", anonymous)
	streams := []*harness.Stream{
		harness.Subscribe(t, gw1.URL+"/api/sse/stream?topic=a", nil),
		harness.Subscribe(t, gw1.URL+"/api/sse/stream?topic=a", nil),
		harness.Subscribe(t, gw1.URL+"/api/sse/stream?topic=b", nil),
		harness.Subscribe(t, gw2.URL+"/api/sse/stream?topic=a", nil),
	}
	for range 2 {
		mustCtl(t, nil, "", "publish", "-url", pub.URL, "-topic", "a", "-data", "1")
	}
	for i, s := range streams {
		if i != 2 {
			s.MustNext(t, waitFor)
			s.MustNext(t, waitFor)
		}
	}
	// The counters are read when the document is taken: wait until both
	// gateways count the two events they delivered.
	env := []string{"SSEGATE_STATUS_TOKEN=" + token}
	harness.Eventually(t, waitFor, "both gateways report 2 events on a", func() bool {
		out := mustCtl(t, env, "", "status", "-json", gw1.URL, gw2.URL)
		n := 0
		for line := range strings.Lines(out) {
			var r status.Report
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("status -json line %q: %v", line, err)
			}
			for _, tp := range r.Topics {
				if tp.Topic == "a" && tp.EventsTotal == 2 {
					n++
				}
			}
		}
		return n == 2
	})
	out := mustCtl(t, env, "", "status", gw1.URL, gw2.URL)
	for _, row := range []string{
		`(?m)^` + regexp.QuoteMeta(gw1.URL) + ` +test +\S+ +3 +2 +redis/single +true +1/1 +0 +0 *$`,
		`(?m)^` + regexp.QuoteMeta(gw2.URL) + ` +test +\S+ +1 +1 +redis/single +true +1/1 +0 +0 *$`,
		`(?m)^` + regexp.QuoteMeta(gw1.URL) + ` +a +2 +2 +\S+ +\d+-\d+ *$`,
		`(?m)^` + regexp.QuoteMeta(gw1.URL) + ` +b +1 +0 +\S+ +\S* *$`,
		`(?m)^` + regexp.QuoteMeta(gw2.URL) + ` +a +1 +2 +\S+ +\d+-\d+ *$`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("no row matching %s in:\n%s", row, out)
		}
	}
	r := ctl(t, nil, "", "status", "-timeout", time.Second.String(), gw1.URL)
	if r.code != 1 || !strings.Contains(r.stdout, "404") || !strings.Contains(r.stderr, "1 of 1 gateways") {
		t.Fatalf("without the token: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
