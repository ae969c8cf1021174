package hardening

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// The ACL user both services run as in the Redis error tests.
const (
	errUser     = "ssegate"
	errPassword = "errors-password-0123"
	errTopic    = "errs:spools"
)

// errorRig is a publisher and a gateway on a Redis (or on a replica of
// it) as the ACL user errUser, with short timeouts so a paused Redis times
// out quickly.
type errorRig struct {
	primary *redistest.Server
	target  *redistest.Server // what the services talk to: primary or its replica
	pub     *harness.Publisher
	gw      *harness.Gateway
	pubLog  *lockedBuffer
}

// errorCase is one Redis error condition produced for real, and the
// answer both services must give while it holds.
type errorCase struct {
	name    string
	replica bool // the services talk to a replica of the primary
	// produce brings the condition about; undo (may be nil) ends it.
	produce func(t *testing.T, r *errorRig) (undo func())
	class   string // metric label of ssegate_{publisher,gateway}_redis_errors_total
	status  int    // the publish's answer
	code    string
	// pubReady, gwReady: the /readyz code while the condition holds, "" for
	// 200, "any" when not checked.
	pubReady, gwReady string
	// gwStatus is a new stream's answer on the gateway (0: not checked: the
	// services talk to a replica, which serves the gateway); gwClass the
	// class it counts ("" when no command runs: the subscription is down).
	gwStatus int
	gwCode   string
	gwClass  string
}

// TestRedisErrorsAnswered produces each Redis error class against a real
// redis-server and checks, on both services: status, Retry-After (on 503
// only), JSON code, the metric label, readiness, and that a refused
// publish wrote nothing (XLEN unchanged). Afterwards the service works
// again (and a configuration fault clears readiness once a call succeeds).
func TestRedisErrorsAnswered(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) { checkErrorCase(t, tc) })
	}
}

func errorCases() []errorCase {
	return []errorCase{
		// The gateway's history read writes nothing: Redis 7 runs it under OOM.
		{name: "oom", produce: produceOOM, class: "oom", status: 503, code: "redis_unavailable", gwStatus: 200},
		{name: "timeout", produce: producePause, class: "timeout", status: 503, code: "redis_unavailable",
			gwStatus: 503, gwCode: "redis_unavailable", gwClass: "timeout"},
		// A busy Redis answers the gateway's subscription connection BUSY
		// too: whether it is down yet is a matter of timing (gwReady "any").
		{name: "busy", produce: produceBusy, class: "busy", status: 503, code: "redis_unavailable", pubReady: "redis_unavailable",
			gwStatus: 503, gwCode: "redis_unavailable", gwReady: "any"},
		{name: "readonly", replica: true, produce: func(*testing.T, *errorRig) func() { return nil }, class: "readonly",
			status: 503, code: "redis_unavailable"},
		{name: "masterdown", replica: true, produce: produceMasterDown, class: "masterdown", status: 503, code: "redis_unavailable",
			pubReady: "redis_unavailable"},
		{name: "noperm", produce: produceNoPerm, class: "noperm", status: 500, code: "redis_misconfigured", pubReady: "redis_misconfigured",
			gwReady: "redis_misconfigured", gwStatus: 500, gwCode: "redis_misconfigured", gwClass: "noperm"},
		{name: "wrongpass", produce: produceWrongPass, class: "wrongpass", status: 500, code: "redis_misconfigured", pubReady: "redis_misconfigured"},
		{name: "connection", produce: produceDown, class: "connection", status: 503, code: "redis_unavailable", pubReady: "redis_unavailable",
			gwReady: "redis_unavailable", gwStatus: 503, gwCode: "redis_unavailable"},
	}
}

func checkErrorCase(t *testing.T, tc errorCase) {
	r := startErrorRig(t, tc.replica)
	for _, topic := range []string{"errs:new", "errs:after"} { // a history to read
		r.primary.Do(t, "XADD", redisbroker.StreamKey(topic), "*", "d", "{}")
	}
	before := xlen(t, r.target)
	undo := tc.produce(t, r)
	for range 3 { // a flood of refusals is one log line
		wantRefusal(t, publish(t, r, "k1"), tc.status, tc.code)
	}
	if got := harness.Metric(t, r.pub.Registry, "ssegate_publisher_redis_errors_total", "class", tc.class); got < 3 {
		t.Errorf("ssegate_publisher_redis_errors_total{class=%q} = %v, want ≥ 3", tc.class, got)
	}
	if n := strings.Count(r.pubLog.String(), `"class":"`+tc.class+`"`); n != 1 {
		t.Errorf("the publisher logged class %s %d times, want once:\n%s", tc.class, n, r.pubLog)
	}
	wantReady(t, r.pub.URL, tc.pubReady)
	if tc.gwStatus == http.StatusOK {
		if got := get(t, r.gw.URL+streamPath+"?topic=errs:new", nil).Status; got != http.StatusOK {
			t.Errorf("gateway stream: %d, want 200", got)
		}
	} else if tc.gwStatus != 0 {
		wantRefusal(t, get(t, r.gw.URL+streamPath+"?topic=errs:new", nil), tc.gwStatus, tc.gwCode)
		if tc.gwClass != "" {
			if got := harness.Metric(t, r.gw.Registry, "ssegate_gateway_redis_errors_total", "class", tc.gwClass); got < 1 {
				t.Errorf("ssegate_gateway_redis_errors_total{class=%q} = %v, want ≥ 1", tc.gwClass, got)
			}
		}
		wantReady(t, r.gw.URL, tc.gwReady)
	}
	// Nothing written: checked at once, or for a busy Redis (which
	// answers nothing else) once the script is killed. A timed out publish
	// may still run when the pause ends: the retry below covers it.
	wantUnwritten := func() {
		if after := xlen(t, r.target); after != before {
			t.Errorf("XLEN %d after the refusal, want %d (nothing written)", after, before)
		}
	}
	if tc.class != "timeout" && tc.class != "busy" && tc.class != "masterdown" && tc.class != "connection" {
		wantUnwritten()
	}
	if undo == nil {
		return
	}
	undo()
	if tc.class == "busy" {
		wantUnwritten()
	}
	wantRecovered(t, r, tc, before)
}

// wantRecovered checks both services once the condition is gone: the same
// key publishes exactly once (a timed out publish that Redis ran after all
// is replayed, not repeated), new streams open, and both are ready again
// (a configuration fault clears with the first call that succeeds).
func wantRecovered(t *testing.T, r *errorRig, tc errorCase, before int) {
	t.Helper()
	harness.Eventually(t, 10*time.Second, "a publish succeeds after the condition ended", func() bool {
		s := publish(t, r, "k1").Status
		return s == http.StatusAccepted || s == http.StatusOK
	})
	if after := xlen(t, r.target); after != before+1 {
		t.Errorf("XLEN %d after the retry, want %d", after, before+1)
	}
	wantReady(t, r.pub.URL, "")
	if tc.gwStatus != 0 {
		harness.Eventually(t, 10*time.Second, "a new stream opens", func() bool {
			return get(t, r.gw.URL+streamPath+"?topic=errs:after", nil).Status == http.StatusOK
		})
		wantReady(t, r.gw.URL, "")
	}
}

// startErrorRig starts Redis (and a replica of it when replica), the ACL
// user, a publisher and a gateway.
func startErrorRig(t *testing.T, replica bool) *errorRig {
	t.Helper()
	r := &errorRig{primary: redistest.Start(t), pubLog: &lockedBuffer{}}
	if !r.primary.Restartable() {
		t.Skip("needs redis-server binaries the test configures (not REDIS_ADDR or a container)")
	}
	r.target = r.primary
	if replica {
		r.target = redistest.Start(t, redistest.WithArgs("--replica-serve-stale-data", "no"))
		host, port, _ := strings.Cut(r.primary.Addr(), ":")
		r.target.Do(t, "REPLICAOF", host, port)
		harness.Eventually(t, 10*time.Second, "the replica is in sync", func() bool {
			return strings.Contains(r.target.Do(t, "INFO", "replication"), "master_link_status:up")
		})
	}
	for _, s := range []*redistest.Server{r.primary, r.target} {
		s.Do(t, "ACL", "SETUSER", errUser, "on", ">"+errPassword, "~*", "&*", "+@all")
	}
	url := "redis://" + errUser + ":" + errPassword + "@" + r.target.Addr() + "/0"
	r.pub = harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: url,
		Config: publisher.Config{PublishTimeout: 300 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(r.pubLog, nil))}})
	r.gw = harness.StartGateway(t, gateway.ProgramConfig{RedisURL: url, Config: gateway.Config{SubscribeTimeout: 300 * time.Millisecond}})
	harness.WaitHTTP(t, r.gw.URL+"/readyz", http.StatusOK)
	harness.WaitHTTP(t, r.pub.URL+"/readyz", http.StatusOK)
	return r
}

// publish posts one event to errTopic with an Idempotency-Key.
func publish(t *testing.T, r *errorRig, key string) response {
	t.Helper()
	return post(t, r.pub.URL+"/v1/events", []byte(`{"topic":"`+errTopic+`","data":{"n":1}}`), http.Header{"Idempotency-Key": {key}})
}

// wantRefusal checks a refusal: Retry-After on a 503, none on a 500.
func wantRefusal(t *testing.T, r response, status int, code string) {
	t.Helper()
	if status == http.StatusServiceUnavailable {
		wantError(t, r, status, code, "Retry-After", "*")
		return
	}
	wantError(t, r, status, code, "Retry-After", "")
}

// wantReady checks /readyz: 200 for code "", else 503 with code.
func wantReady(t *testing.T, base, code string) {
	t.Helper()
	if code == "any" {
		return
	}
	r := get(t, base+"/readyz", nil)
	if code == "" {
		if r.Status != http.StatusOK {
			t.Errorf("%s/readyz: %d %s, want 200", base, r.Status, r.Body)
		}
		return
	}
	wantError(t, r, http.StatusServiceUnavailable, code)
}

// xlen is the length of errTopic's history on s.
func xlen(t *testing.T, s *redistest.Server) int {
	t.Helper()
	n, err := strconv.Atoi(s.Do(t, "XLEN", redisbroker.StreamKey(errTopic)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// produceOOM: maxmemory below what Redis uses, with noeviction.
func produceOOM(t *testing.T, r *errorRig) func() {
	r.primary.Do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	r.primary.Do(t, "CONFIG", "SET", "maxmemory", "1")
	return func() { r.primary.Do(t, "CONFIG", "SET", "maxmemory", "0") }
}

// producePause: writes (and scripts, which may write) wait; reads and PING
// go on. CLIENT PAUSE … ALL would also hold CLIENT UNPAUSE on Redis 7.0.
func producePause(t *testing.T, r *errorRig) func() {
	r.primary.Do(t, "CLIENT", "PAUSE", "5000", "WRITE")
	return func() { r.primary.Do(t, "CLIENT", "UNPAUSE") }
}

// produceBusy: a script that never ends, past busy-reply-threshold.
func produceBusy(t *testing.T, r *errorRig) func() {
	r.primary.Do(t, "CONFIG", "SET", "busy-reply-threshold", "50")
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = redistest.Exec(ctx, r.primary.Addr(), "EVAL", "while true do end", "0")
	}()
	harness.Eventually(t, 10*time.Second, "redis answers BUSY", func() bool {
		_, err := r.primary.Exec(context.Background(), "PING")
		return err != nil && strings.Contains(err.Error(), "BUSY")
	})
	return func() {
		r.primary.Do(t, "SCRIPT", "KILL")
		<-done
	}
}

// produceMasterDown: the replica loses its primary and serves no stale data.
func produceMasterDown(t *testing.T, r *errorRig) func() {
	r.primary.Stop(t)
	harness.Eventually(t, 10*time.Second, "the replica answers MASTERDOWN", func() bool {
		_, err := r.target.Exec(context.Background(), "PING")
		return err != nil && strings.Contains(err.Error(), "MASTERDOWN")
	})
	return nil
}

// produceNoPerm takes PUBLISH (the publisher's script) and XINFO (the
// gateway's history read) from the user, while its connections stay up.
func produceNoPerm(t *testing.T, r *errorRig) func() {
	r.primary.Do(t, "ACL", "SETUSER", errUser, "-publish", "-xinfo")
	return func() { r.primary.Do(t, "ACL", "SETUSER", errUser, "+publish", "+xinfo") }
}

// produceWrongPass changes the user's password and drops its connections:
// the clients reconnect with the old one.
func produceWrongPass(t *testing.T, r *errorRig) func() {
	r.primary.Do(t, "ACL", "SETUSER", errUser, "resetpass", ">another-password-4567")
	r.primary.Do(t, "CLIENT", "KILL", "USER", errUser)
	// The first call may meet the killed connection (connection, 503).
	harness.Eventually(t, 10*time.Second, "the publisher reconnects with the old password", func() bool {
		return publish(t, r, "k0").Status == http.StatusInternalServerError
	})
	return func() { r.primary.Do(t, "ACL", "SETUSER", errUser, "resetpass", ">"+errPassword) }
}

// produceDown stops Redis.
func produceDown(t *testing.T, r *errorRig) func() {
	r.primary.Stop(t)
	harness.WaitHTTP(t, r.gw.URL+"/readyz", http.StatusServiceUnavailable)
	return nil
}
