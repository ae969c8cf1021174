package loadgen

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testproc"
	"github.com/ssegate/ssegate/test/harness"
)

// buildServers compiles the real gateway and publisher into a temp dir.
func buildServers(t *testing.T) string {
	t.Helper()
	gobin := testproc.Require(t, "REQUIRE_GO", "install Go", "go")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", dir+string(os.PathSeparator), "../../cmd/gateway", "../../cmd/publisher")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServer runs bin on a free port with env and waits for /readyz; the
// process is killed at cleanup (a no-op once the storm killed it).
func startServer(t *testing.T, bin string, env ...string) (*testproc.Process, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SSEGATE_LOG_LEVEL=warn", "SSEGATE_LISTEN_ADDR=" + addr}, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	p, err := testproc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Kill(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(bin), logs.String())
		}
	})
	url := "http://" + addr
	harness.WaitHTTP(t, url+"/readyz", 200)
	return p, url
}

// TestStormEndToEnd runs a small storm against the real programs: 200
// clients on gateway A over 2 topics, A killed, every client back on B
// with its Last-Event-ID after the gateway's retry: hint (EventSource's
// delay). Nothing may be lost or repeated, and Redis's commandstats delta
// must account for the publisher's writes.
func TestStormEndToEnd(t *testing.T) {
	bin := buildServers(t)
	rdb := redistest.Start(t)
	env := "SSEGATE_REDIS_URL=" + rdb.URL() + "/0"
	gwA, urlA := startServer(t, filepath.Join(bin, "gateway"), env)
	gwB, urlB := startServer(t, filepath.Join(bin, "gateway"), env)
	_, urlP := startServer(t, filepath.Join(bin, "publisher"), env, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true")

	cfg := DefaultConfig()
	cfg.Mode = ModeStorm
	cfg.GatewayURLs = []string{urlA}
	cfg.PublishURL = urlP + "/v1/events"
	cfg.Conns, cfg.Topics, cfg.Rate = 200, 2, 100
	cfg.ConnsPerAddr, cfg.ConnectConcurrency, cfg.Readers = 50, 32, 2
	cfg.Duration, cfg.Drain = time.Second, 10*time.Second
	cfg.PIDs = []int{gwB.Pid()}
	cfg.Storm.URLs = []string{urlB}
	cfg.Storm.KillPID = gwA.Pid()
	cfg.Storm.RedisAddr = rdb.Addr()
	cfg.Storm.Timeout, cfg.Storm.After = 20*time.Second, 500*time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	select {
	case <-gwA.Done():
	default:
		t.Fatal("gateway A is still running")
	}
	checkStorm(t, rep, cfg)
}

// checkStorm asserts that a storm report is complete and consistent.
func checkStorm(t *testing.T, rep *Report, cfg Config) {
	t.Helper()
	s := rep.Storm
	if s == nil || s.KillError != "" || s.Clients != int64(cfg.Conns) || s.Topics != cfg.Topics {
		t.Fatalf("storm %+v", s)
	}
	if s.Resumed != s.Clients || s.Failed != 0 || s.Attempts != uint64(s.Clients) || len(s.AttemptErrors) != 0 {
		t.Fatalf("resumed %d of %d, %d failed, %d attempts (%v)", s.Resumed, s.Clients, s.Failed, s.Attempts, s.AttemptErrors)
	}
	// EventSource's delay: the gateway's retry: (2 s by default), no jitter.
	if s.ReconnectDelay != "retry" || s.Resumed99Seconds < 1.9 || s.Resumed100Seconds < s.Resumed99Seconds ||
		s.Resumed100Seconds > cfg.Storm.Timeout.Seconds() || s.DropSeen.Count != uint64(s.Clients) || s.ResumeTime.Count != uint64(s.Clients) {
		t.Fatalf("resume times: delay %s, 99%% %.2fs, 100%% %.2fs, drops seen %+v, resume %+v",
			s.ReconnectDelay, s.Resumed99Seconds, s.Resumed100Seconds, s.DropSeen, s.ResumeTime)
	}
	if s.Lost != 0 || s.ClientsWithLoss != 0 || s.Duplicates != 0 || s.IDViolations != 0 {
		t.Fatalf("lost %d (%d clients), duplicates %d, id violations %d", s.Lost, s.ClientsWithLoss, s.Duplicates, s.IDViolations)
	}
	if d := rep.Delivery; d.Expected == 0 || d.Delivered != d.Expected || d.Missing != 0 || d.Duplicates != 0 || d.Late != 0 {
		t.Fatalf("delivery %+v", d)
	}
	if s.LiveLatency.Count == 0 {
		t.Fatal("no live event measured on B")
	}
	rc := s.Redis
	if rc == nil || rc.Error != "" || rc.Seconds <= 0 {
		t.Fatalf("redis %+v", rc)
	}
	// The publisher's share: one script and one XADD per accepted publish
	// (give or take the requests in flight at the two samples).
	diff := int64(rc.Publishes) - int64(s.PublishedSinceKill)
	if s.PublishedSinceKill == 0 || diff < -int64(cfg.Publishers) || diff > int64(cfg.Publishers) ||
		rc.ByCommand["evalsha"]+rc.ByCommand["eval"] < rc.Publishes || rc.ByCommand["publish"] != rc.Publishes {
		t.Fatalf("publishes: redis %d, publisher %d; by command %v", rc.Publishes, s.PublishedSinceKill, rc.ByCommand)
	}
	// B read the topics' history to resume its clients: at least one
	// read per topic, however it shares them.
	if rc.HistoryReads < uint64(cfg.Topics) {
		t.Fatalf("history reads %d; by command %v", rc.HistoryReads, rc.ByCommand)
	}
	t.Logf("redis during the storm (%d topics, %d clients): history reads %d, reader scripts %d, publishes %d",
		cfg.Topics, s.Clients, rc.HistoryReads, rc.ReaderScripts, rc.Publishes)
}
