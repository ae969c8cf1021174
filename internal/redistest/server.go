package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/testproc"
)

// Environment variables that steer Start.
const (
	// EnvAddr names an external Redis ("host:port" or a redis:// URL) that
	// Start returns instead of starting one. It is shared, not flushed, and
	// cannot be stopped or restarted by tests.
	EnvAddr = "REDIS_ADDR"
	// EnvRequire, when true ("1", "true"), turns "no Redis available" from
	// a skip into a test failure, so CI cannot silently skip Redis tests.
	EnvRequire = "REQUIRE_REDIS"
)

// Fallback paths tried when redis-server / redis-cli are not on PATH
// (Debian installs them there, and PATH is often trimmed under IDEs).
const (
	fallbackServerBin = "/usr/bin/redis-server"
	fallbackCLIBin    = "/usr/bin/redis-cli"
	containerImage    = "redis:7"
	containerPort     = "6379/tcp"
	containerTimeout  = 2 * time.Minute
	dockerProbeTime   = time.Second
)

// Option changes how Start runs Redis.
type Option func(*options)

type options struct {
	args []string
	tls  *TLSFiles
}

// WithArgs appends extra redis-server arguments (e.g. "--maxmemory",
// "1mb") for the binary and container back ends. It has no effect on an
// external server (REDIS_ADDR), which the test does not configure.
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// backend is where a Redis for a test comes from.
type backend int

const (
	backendNone      backend = iota // nothing available
	backendExternal                 // REDIS_ADDR
	backendBinary                   // a local redis-server child process
	backendContainer                // testcontainers, image redis:7
)

// String names the back end for messages.
func (b backend) String() string {
	switch b {
	case backendExternal:
		return "external (" + EnvAddr + ")"
	case backendBinary:
		return "redis-server binary"
	case backendContainer:
		return "container " + containerImage
	default:
		return "none"
	}
}

// environment is what the back-end choice depends on, injectable so the
// decision is unit-tested without uninstalling Redis or Docker.
type environment struct {
	getenv func(string) string
	// findBin finds a program among candidates (see testproc.Find).
	findBin func(candidates ...string) (string, bool)
	// dockerUp is called only when needed: it costs a round trip.
	dockerUp func() bool
}

// systemEnvironment is the real process environment.
func systemEnvironment() environment {
	return environment{getenv: os.Getenv, findBin: testproc.Find, dockerUp: dockerAnswers}
}

// chooseBackend applies Start's order: REDIS_ADDR, then a redis-server
// binary, then a Docker engine, else none. bin is the binary path for
// backendBinary.
func chooseBackend(env environment) (b backend, bin string) {
	if env.getenv(EnvAddr) != "" {
		return backendExternal, ""
	}
	if bin, ok := env.findBin("redis-server", fallbackServerBin); ok {
		return backendBinary, bin
	}
	if env.dockerUp() {
		return backendContainer, ""
	}
	return backendNone, ""
}

// unavailable skips or fails the test, per REQUIRE_REDIS, with why.
func unavailable(t testing.TB, why string) {
	t.Helper()
	testproc.Missing(t, EnvRequire, "redistest: no Redis available: "+why+
		" (install redis-server, set "+EnvAddr+"=host:port, or run a Docker engine)")
}

// Server is a Redis for one test (or a shared external one). Its address
// never changes, also across Stop/Restart.
type Server struct {
	addr    string
	backend backend
	proc    *process // backendBinary only
	tlsAddr string   // WithTLS only
	auth    []string // AUTH the helpers send first, after RequirePass
}

// Start returns a running Redis dedicated to this test where possible and
// stops it in t.Cleanup (also when the test fails). The order is:
// REDIS_ADDR (external, shared, not flushed, not restartable); a
// redis-server binary on a free loopback port with persistence off and
// its files in t.TempDir(); a redis:7 container when a Docker engine
// answers; otherwise the test is skipped, or failed when REQUIRE_REDIS=1.
// A binary server's output goes to a log file that is printed on failure.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	env := systemEnvironment()
	b, bin := chooseBackend(env)
	switch b {
	case backendExternal:
		return startExternal(t, env.getenv(EnvAddr))
	case backendBinary:
		return startBinary(t, bin, o)
	case backendContainer:
		return startContainer(t, o)
	default:
		unavailable(t, "no redis-server binary and no Docker engine")
		return nil // not reached: Skip and Fatal end the test goroutine
	}
}

// startExternal validates REDIS_ADDR and checks the server answers. A
// configured server that does not answer is a failure, never a skip.
func startExternal(t testing.TB, raw string) *Server {
	t.Helper()
	addr, err := parseAddr(raw)
	if err != nil {
		t.Fatalf("redistest: %s=%q: %v", EnvAddr, raw, err)
	}
	if _, err := Exec(context.Background(), addr, "PING"); err != nil {
		t.Fatalf("redistest: %s=%q does not answer PING: %v", EnvAddr, raw, err)
	}
	return &Server{addr: addr, backend: backendExternal}
}

// parseAddr accepts "host:port" or "redis://host:port[/db]".
func parseAddr(raw string) (string, error) {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("parse URL: %w", err)
		}
		raw = u.Host
		if u.Port() == "" {
			raw = net.JoinHostPort(u.Hostname(), "6379")
		}
	}
	if _, _, err := net.SplitHostPort(raw); err != nil {
		return "", fmt.Errorf("want host:port: %w", err)
	}
	return raw, nil
}

// startBinary runs redis-server on a free loopback port, retrying on a
// fresh port when another process took the chosen one first.
func startBinary(t testing.TB, bin string, o options) *Server {
	t.Helper()
	dir := t.TempDir() // registered before our cleanup, so removed after the kill
	s := &Server{backend: backendBinary}
	t.Cleanup(func() {
		if s.proc != nil {
			if err := s.proc.kill(); err != nil {
				t.Errorf("redistest: cleanup: %v", err)
			}
		}
	})
	var logs []string
	logOnFailure(t, func() []string { return logs })

	var lastErr error
	for range bindAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		args := o.args
		if o.tls != nil {
			var tlsArgs []string
			if s.tlsAddr, tlsArgs, err = o.tls.serverArgs(); err != nil {
				t.Fatalf("redistest: %v", err)
			}
			args = append(slices.Clip(args), tlsArgs...)
		}
		p := newProcess(bin, port, dir, args)
		logs = append(logs, p.logPath)
		s.proc = p
		if lastErr = p.start(context.Background()); lastErr == nil {
			s.addr = p.addr()
			return s
		}
		if !errors.Is(lastErr, errAddrInUse) {
			break
		}
	}
	t.Fatalf("redistest: start %s: %v", bin, lastErr)
	return nil
}

// Addr returns "host:port", "127.0.0.1:PORT" for a server this package
// started on the machine.
func (s *Server) Addr() string { return s.addr }

// URL returns "redis://" + Addr(), the form SSEGATE_REDIS_URL and
// rueidis.ParseURL accept.
func (s *Server) URL() string { return "redis://" + s.addr }

// Restartable reports whether Stop and Restart work: only for a
// redis-server child process, not for an external server or a container.
func (s *Server) Restartable() bool { return s.backend == backendBinary }

// Stop SIGKILLs the server (a crash, not a graceful shutdown) and returns
// once its port refuses connections. Data is lost (persistence is off).
// It fails the test when the server is not Restartable.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if !s.Restartable() {
		t.Fatalf("redistest: Stop: the %s back end cannot be stopped by a test", s.backend)
	}
	if err := s.proc.kill(); err != nil {
		t.Fatalf("redistest: Stop: %v", err)
	}
	if err := waitRefused(context.Background(), s.addr); err != nil {
		t.Fatalf("redistest: Stop: %v", err)
	}
}

// Restart starts the server again on the same port (after Stop) and
// returns once it answers PING. A still running server is killed first.
// If another process took the port meanwhile the test fails.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if !s.Restartable() {
		t.Fatalf("redistest: Restart: the %s back end cannot be restarted by a test", s.backend)
	}
	if err := s.proc.kill(); err != nil {
		t.Fatalf("redistest: Restart: %v", err)
	}
	if err := s.proc.start(context.Background()); err != nil {
		t.Fatalf("redistest: Restart: %v", err)
	}
}

// Exec runs one command on a short-lived connection and returns the
// structured reply; see the package-level Exec.
func (s *Server) Exec(ctx context.Context, args ...string) (Reply, error) {
	return execAuth(ctx, s.addr, s.auth, args)
}

// Do runs one command (e.g. "PUBSUB", "NUMSUB", "t") on a short-lived
// connection and returns the reply as text: integers in decimal, arrays
// flattened space-separated (see Reply.String). Any error, including an
// error reply, fails the test; use Exec to inspect errors.
func (s *Server) Do(t testing.TB, args ...string) string {
	t.Helper()
	return s.do(t, args).String()
}

// DoSlice is Do returning the flattened elements of an array reply, for
// replies whose elements may contain spaces.
func (s *Server) DoSlice(t testing.TB, args ...string) []string {
	t.Helper()
	return s.do(t, args).Strings()
}

// NumSub returns PUBSUB NUMSUB's count of subscribers to channel: how
// many connections (gateways, brokers) listen on it right now. An
// unexpected reply fails the test.
func (s *Server) NumSub(t testing.TB, channel string) int {
	t.Helper()
	r := s.DoSlice(t, "PUBSUB", "NUMSUB", channel)
	if len(r) != 2 {
		t.Fatalf("PUBSUB NUMSUB %s = %q", channel, r)
	}
	n, err := strconv.Atoi(r[1])
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB %s = %q: %v", channel, r, err)
	}
	return n
}

// Millis returns the server's clock (TIME) in milliseconds: the clock
// stream IDs are made of, which tests compare IDs against.
func (s *Server) Millis(t testing.TB) uint64 {
	t.Helper()
	r := s.DoSlice(t, "TIME")
	if len(r) != 2 {
		t.Fatalf("TIME = %q", r)
	}
	sec, err1 := strconv.ParseUint(r[0], 10, 64)
	usec, err2 := strconv.ParseUint(r[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("TIME = %q: %v", r, err)
	}
	return sec*1000 + usec/1000
}

// do runs a command for a test as the server's helpers do (after AUTH
// when RequirePass set a password) and fails the test on any error.
func (s *Server) do(t testing.TB, args []string) Reply {
	t.Helper()
	r, err := s.Exec(context.Background(), args...)
	if err != nil {
		t.Fatalf("redistest: %s on %s: %v", strings.Join(args, " "), s.addr, err)
	}
	return r
}

// do runs a command for a test and fails the test on any error.
func do(t testing.TB, addr string, args []string) Reply {
	t.Helper()
	r, err := Exec(context.Background(), addr, args...)
	if err != nil {
		t.Fatalf("redistest: %s on %s: %v", strings.Join(args, " "), addr, err)
	}
	return r
}
