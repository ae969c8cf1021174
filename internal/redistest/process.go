package redistest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/testproc"
)

// Timing of the helpers. Polling a condition against a deadline is how the
// helpers synchronise with redis-server; none of them sleeps blindly.
const (
	pollInterval     = 20 * time.Millisecond
	startTimeout     = 10 * time.Second
	stopTimeout      = 10 * time.Second
	probeTimeout     = 500 * time.Millisecond
	bindAttempts     = 4
	maxLogDumpBytes  = 64 << 10
	loopbackHost     = "127.0.0.1"
	addrInUseMessage = "Address already in use"
)

// errAddrInUse marks a start that failed because the port was taken
// between choosing it and redis-server binding it; the caller retries on
// another port.
var errAddrInUse = errors.New("port already in use")

// process is one redis-server child on a fixed loopback port. It can be
// killed and started again on the same port (Restart). The log file is
// appended to across runs so a failing test shows the whole history.
type process struct {
	bin     string
	port    int
	dir     string
	logPath string
	args    []string // extra arguments after the standard ones

	mu  sync.Mutex
	cur *testproc.Process // nil when not running
}

// newProcess describes (but does not start) a redis-server on port whose
// working directory is dir and whose stdout/stderr go to a log file there.
func newProcess(bin string, port int, dir string, extra []string) *process {
	return &process{
		bin:     bin,
		port:    port,
		dir:     dir,
		logPath: filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)),
		args:    extra,
	}
}

// addr returns the process's "127.0.0.1:PORT".
func (p *process) addr() string {
	return net.JoinHostPort(loopbackHost, strconv.Itoa(p.port))
}

// commandLine returns the redis-server arguments: no persistence (fast
// tests, nothing left behind), loopback only, files under the temp dir.
func (p *process) commandLine() []string {
	args := []string{
		"--port", strconv.Itoa(p.port),
		"--bind", loopbackHost,
		"--save", "",
		"--appendonly", "no",
		"--dir", p.dir,
		"--daemonize", "no",
	}
	return append(args, p.args...)
}

// running reports whether the current run has not exited.
func (p *process) running() bool {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	return r != nil && r.Running()
}

// start launches redis-server and waits until it answers PING as the
// process we started. It returns an error wrapping errAddrInUse when the
// port was taken, so the caller can pick another.
func (p *process) start(ctx context.Context) error {
	p.mu.Lock()
	if p.cur != nil {
		p.mu.Unlock()
		return fmt.Errorf("redis-server on %s: already started", p.addr())
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("open redis-server log: %w", err)
	}
	logStart, _ := logf.Seek(0, io.SeekEnd)
	fmt.Fprintf(logf, "=== redistest: %s %s\n", p.bin, strings.Join(quoteArgs(p.commandLine()), " "))

	cmd := exec.Command(p.bin, p.commandLine()...)
	cmd.Dir = p.dir
	cmd.Stdout = logf // an *os.File is handed to the child: no copy goroutine
	cmd.Stderr = logf
	// Owner: this process value; every cleanup path calls kill.
	r, err := testproc.Start(cmd)
	logf.Close() // the child holds its own descriptor
	if err != nil {
		p.mu.Unlock()
		return err
	}
	p.cur = r
	p.mu.Unlock()

	if err := p.waitReady(ctx, r); err != nil {
		_ = p.kill()
		if tail := readFrom(p.logPath, logStart); strings.Contains(tail, addrInUseMessage) {
			return fmt.Errorf("redis-server on %s: %w", p.addr(), errAddrInUse)
		}
		return err
	}
	return nil
}

// waitReady polls until the server answers PING and reports our child's
// pid (so a foreign server that grabbed the port is not mistaken for ours),
// the child exits, or ctx ends.
func (p *process) waitReady(ctx context.Context, r *testproc.Process) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	wantPID := strconv.Itoa(r.Pid())
	var lastErr error
	for {
		pctx, pcancel := context.WithTimeout(ctx, probeTimeout)
		info, err := Exec(pctx, p.addr(), "INFO", "server")
		pcancel()
		if err == nil {
			if pid := infoField(info.Str, "process_id"); pid == wantPID {
				return nil
			}
			lastErr = fmt.Errorf("a different server answers on %s", p.addr())
		} else {
			lastErr = err
		}
		select {
		case <-r.Done():
			if err := r.Err(); err != nil {
				return fmt.Errorf("redis-server on %s exited during start: %w (see %s)", p.addr(), err, p.logPath)
			}
			return fmt.Errorf("redis-server on %s exited during start (see %s)", p.addr(), p.logPath)
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s not ready: %w (last: %w)", p.addr(), ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// kill SIGKILLs the current run (and its process group) and waits until
// it has been reaped, so its port is closed when kill returns. Killing a
// process that is not running is a no-op.
func (p *process) kill() error {
	p.mu.Lock()
	r := p.cur
	p.cur = nil
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	if err := r.Kill(stopTimeout); err != nil {
		return fmt.Errorf("redis-server on %s: %w", p.addr(), err)
	}
	return nil
}

// waitRefused polls until a TCP connection to addr is refused (or fails
// otherwise), proving that nothing listens there any more.
func waitRefused(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		var d net.Dialer
		dctx, dcancel := context.WithTimeout(ctx, probeTimeout)
		conn, err := d.DialContext(dctx, "tcp", addr)
		dcancel()
		if err != nil {
			return nil
		}
		conn.Close()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still accepts connections: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// freePort asks the kernel for a free loopback port by listening on :0
// and closing the listener. Another process may take it before we bind
// it, which is why starts are retried on errAddrInUse.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopbackHost, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Cluster port range: a node's bus port is its port + 10000 and must stay
// below 65536, so nodes use [20000, 45000) and their bus ports
// [30000, 55000). Part of that overlaps the kernel's ephemeral range;
// each pair is checked with a trial listen rather than assumed free.
const (
	clusterPortMin    = 20000
	clusterPortMax    = 45000
	clusterBusOffset  = 10000
	clusterPortTrials = 500
)

// freeClusterPorts finds n ports p in [20000, 45000) such that both p and
// the bus port p+10000 are free right now, holding each trial listener
// until all are chosen so the n ports are distinct.
func freeClusterPorts(n int) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for trial := 0; len(ports) < n; trial++ {
		if trial >= clusterPortTrials {
			return nil, fmt.Errorf("no free cluster port pair in [%d,%d) after %d trials", clusterPortMin, clusterPortMax, trial)
		}
		p := clusterPortMin + rand.IntN(clusterPortMax-clusterPortMin)
		l1, err := net.Listen("tcp", net.JoinHostPort(loopbackHost, strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l2, err := net.Listen("tcp", net.JoinHostPort(loopbackHost, strconv.Itoa(p+clusterBusOffset)))
		if err != nil {
			l1.Close()
			continue
		}
		held = append(held, l1, l2)
		ports = append(ports, p)
	}
	return ports, nil
}

// infoField returns the value of "name:value" in an INFO reply.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		line = strings.TrimRight(line, "\r")
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

// readFrom returns the content of path from offset on ("" on error).
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLogDumpBytes))
	if err != nil {
		return ""
	}
	return string(b)
}

// logOnFailure registers a cleanup that prints the tail of each log file
// when the test failed, so a crash or a refused start explains itself.
// paths is called at cleanup time, so nodes added later are included.
func logOnFailure(t testing.TB, paths func() []string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, path := range paths() {
			fi, err := os.Stat(path)
			if err != nil {
				continue
			}
			off := max(fi.Size()-maxLogDumpBytes, 0)
			t.Logf("redistest: log %s (last %d bytes):\n%s", path, fi.Size()-off, readFrom(path, off))
		}
	})
}

// quoteArgs renders args for the log, showing empty strings as "".
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t") {
			out[i] = strconv.Quote(a)
		} else {
			out[i] = a
		}
	}
	return out
}
