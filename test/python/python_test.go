package python

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testproc"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// envRequire turns "no Debian python3" from a skip into a failure.
	envRequire = "REQUIRE_PYTHON"
	// python is Debian's interpreter, named by its path: a pyenv or venv
	// python3 earlier on PATH is not what the backend's image runs.
	python = "/usr/bin/python3"
	// token is the publish token the tests configure.
	token = "py-client-test-token"
	// minTests is how many Python tests must run: fewer means some were
	// not discovered.
	minTests = 17
)

// TestPythonPublisher runs clients/python/tests with Debian's python3
// against a publisher on Redis: success, 400, 401, 503 then success
// across a Redis restart, an answer lost after the publish (the retry is
// replayed, not published twice) and a publisher that never answers, each
// through the sync and the asyncio call.
func TestPythonPublisher(t *testing.T) {
	py := testproc.Require(t, envRequire, "apt-get install python3", python)
	redis := redistest.Start(t)
	if !redis.Restartable() {
		t.Skip("needs a Redis the test can stop (not REDIS_ADDR or a container)")
	}
	toks, err := auth.NewTokens([]string{token})
	if err != nil {
		t.Fatal(err)
	}
	authz, err := auth.NewPublisher(auth.PublisherConfig{Tokens: toks})
	if err != nil {
		t.Fatal(err)
	}
	pub := harness.StartPublisher(t, publisher.ProgramConfig{
		RedisURL: redis.URL(),
		Config:   publisher.Config{Auth: authz, PublishTimeout: time.Second},
	})
	ctl := startControl(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-I", "-B", "-m", "unittest", "discover", "-v", "-s", "tests", "-t", ".")
	cmd.Dir = "../../clients/python"
	cmd.Env = append(os.Environ(),
		"SPOOLS_SSEGATE_URL="+pub.URL,
		"SPOOLS_SSEGATE_TOKEN="+token,
		"PYCLIENT_TEST_CONTROL_URL="+ctl.url,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start python: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // ends when python exits (bounded by ctx)
	err = ctl.serve(t, done, func(c command) any { return act(t, c, redis, pub) })
	t.Logf("python output:\n%s", out.String())
	if err != nil {
		t.Fatalf("python tests failed: %v", err)
	}
	checkSummary(t, out.String())
}

// checkSummary fails unless unittest ran at least minTests tests and
// skipped none.
func checkSummary(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Ran (\d+) tests? in`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no unittest summary in the output")
	}
	var n int
	if _, err := fmt.Sscan(m[1], &n); err != nil || n < minTests {
		t.Fatalf("ran %s Python tests, want at least %d", m[1], minTests)
	}
	if strings.Contains(out, "skipped") {
		t.Fatal("a Python test was skipped")
	}
}

// act carries out one control request on the test goroutine.
func act(t *testing.T, c command, redis *redistest.Server, pub *harness.Publisher) any {
	switch c.name {
	case "stop":
		redis.Stop(t)
		return map[string]bool{"ok": true}
	case "restart":
		redis.Restart(t)
		harness.WaitHTTP(t, pub.URL+"/readyz", http.StatusOK)
		warmUp(t, pub)
		return map[string]bool{"ok": true}
	case "history":
		return history(t, redis, publisher.SpoolTopic)
	}
	t.Errorf("unknown control request %q", c.name)
	return map[string]string{"error": "unknown request"}
}

// warmUp publishes one spool event (tag PY-WARMUP, which no Python test
// reads) until it is accepted. The publisher's Redis client notices a
// connection to the killed server only when it next uses it (an EOF, a
// 503), and picks connections by hash slot: /readyz's PING can succeed
// while the spool topic's connection is still the dead one.
func warmUp(t *testing.T, pub *harness.Publisher) {
	ev := map[string]string{"event_type": "STATE_CHANGE", "tag_spool": "PY-WARMUP"}
	harness.Eventually(t, 15*time.Second, "a spool publish after the Redis restart", func() bool {
		return harness.Post(t, pub.URL+"/publish", ev, "Authorization", "Bearer "+token).Status == http.StatusAccepted
	})
}

// history is a topic's stored events (their data, oldest first) and the
// idempotency keys Redis remembers for it.
func history(t *testing.T, redis *redistest.Server, topic string) any {
	r, err := redis.Exec(context.Background(), "XRANGE", redisbroker.StreamKey(topic), "-", "+")
	if err != nil {
		t.Fatalf("XRANGE: %v", err)
	}
	events := []json.RawMessage{}
	for _, entry := range r.Elems {
		if len(entry.Elems) != 2 {
			t.Fatalf("unexpected stream entry %v", entry)
		}
		fields := entry.Elems[1].Strings()
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "d" {
				events = append(events, json.RawMessage(fields[i+1]))
			}
		}
	}
	prefix := redisbroker.IdempotencyKey(topic, "")
	keys := []string{}
	for _, k := range redis.DoSlice(t, "KEYS", prefix+"*") {
		if k != "" {
			keys = append(keys, strings.TrimPrefix(k, prefix))
		}
	}
	return map[string]any{"events": events, "idempotency_keys": keys}
}
