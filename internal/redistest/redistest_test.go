package redistest

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartAnswersPing(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	if got := srv.Do(t, "PING"); got != "PONG" {
		t.Fatalf("PING = %q, want PONG", got)
	}
	if got, want := srv.URL(), "redis://"+srv.Addr(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if srv.Restartable() {
		if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
			t.Errorf("Addr() = %q, want a 127.0.0.1 address", srv.Addr())
		}
		logText, err := os.ReadFile(srv.proc.logPath)
		if err != nil {
			t.Fatalf("read server log: %v", err)
		}
		if !strings.Contains(string(logText), "Ready to accept connections") {
			t.Errorf("server log %s lacks the ready line:\n%s", srv.proc.logPath, logText)
		}
	}
}

func TestStartWithArgs(t *testing.T) {
	t.Parallel()
	if os.Getenv(EnvAddr) != "" {
		t.Skip("external server: WithArgs does not apply")
	}
	srv := Start(t, WithArgs("--maxmemory", "7mb"))
	if got := srv.DoSlice(t, "CONFIG", "GET", "maxmemory"); !slices.Equal(got, []string{"maxmemory", "7340032"}) {
		t.Fatalf("CONFIG GET maxmemory = %q, want [maxmemory 7340032]", got)
	}
}

func TestStopRefusesAndRestartComesBackOnSamePort(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	if !srv.Restartable() {
		t.Skip("server is not restartable (external or container)")
	}
	addr := srv.Addr()
	srv.Do(t, "SET", "k", "v")

	srv.Stop(t)
	_, err := srv.Exec(context.Background(), "PING")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("PING after Stop: err = %v, want connection refused", err)
	}

	srv.Restart(t)
	if srv.Addr() != addr {
		t.Fatalf("Addr after Restart = %q, want %q", srv.Addr(), addr)
	}
	if got := srv.Do(t, "PING"); got != "PONG" {
		t.Fatalf("PING after Restart = %q, want PONG", got)
	}
	if got := srv.Do(t, "GET", "k"); got != "" {
		t.Errorf("GET k after Restart = %q, want empty (persistence is off)", got)
	}
	// Restart of a running server replaces it.
	srv.Restart(t)
	if got := srv.Do(t, "PING"); got != "PONG" {
		t.Fatalf("PING after second Restart = %q, want PONG", got)
	}
}

func TestDoReplyShapes(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	prefix := "redistest:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	t.Cleanup(func() {
		// The server may be shared (REDIS_ADDR): remove what we wrote.
		if _, err := srv.Exec(context.Background(), "DEL", prefix+"n", prefix+"l", prefix+"s"); err != nil {
			t.Errorf("cleanup DEL: %v", err)
		}
	})
	tests := []struct {
		name      string
		args      []string
		wantText  string
		wantSlice []string
	}{
		{"simple string", []string{"SET", prefix + "s", "hello world"}, "OK", []string{"OK"}},
		{"bulk string", []string{"GET", prefix + "s"}, "hello world", []string{"hello world"}},
		{"nil bulk", []string{"GET", prefix + "missing"}, "", []string{""}},
		{"integer", []string{"INCRBY", prefix + "n", "42"}, "42", []string{"42"}},
		{"push", []string{"RPUSH", prefix + "l", "a", "b c"}, "2", []string{"2"}},
		{"array", []string{"LRANGE", prefix + "l", "0", "-1"}, "a b c", []string{"a", "b c"}},
		{"empty array", []string{"LRANGE", prefix + "missing", "0", "-1"}, "", []string{}},
		{"nested array", []string{"PUBSUB", "NUMSUB", prefix + "ch"}, prefix + "ch 0", []string{prefix + "ch", "0"}},
	}
	for _, tc := range tests { // sequential: later rows read what earlier rows wrote
		if got := srv.Do(t, tc.args...); got != tc.wantText {
			t.Errorf("%s: Do(%q) = %q, want %q", tc.name, tc.args, got, tc.wantText)
		}
	}
	for _, tc := range tests {
		if tc.args[0] == "SET" || tc.args[0] == "INCRBY" || tc.args[0] == "RPUSH" {
			continue // not idempotent
		}
		if got := srv.DoSlice(t, tc.args...); !slices.Equal(got, tc.wantSlice) {
			t.Errorf("%s: DoSlice(%q) = %q, want %q", tc.name, tc.args, got, tc.wantSlice)
		}
	}

	_, err := srv.Exec(context.Background(), "NOSUCHCOMMAND")
	var re *ReplyError
	if !errors.As(err, &re) || !strings.HasPrefix(re.Msg, "ERR") {
		t.Errorf("Exec(NOSUCHCOMMAND) error = %v, want a *ReplyError starting with ERR", err)
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wire    string
		want    Reply
		wantErr string
	}{
		{"simple", "+OK\r\n", Reply{Kind: KindSimple, Str: "OK"}, ""},
		{"integer", ":-7\r\n", Reply{Kind: KindInt, Int: -7, Str: "-7"}, ""},
		{"bulk with CRLF inside", "$4\r\na\r\nb\r\n", Reply{Kind: KindBulk, Str: "a\r\nb"}, ""},
		{"empty bulk", "$0\r\n\r\n", Reply{Kind: KindBulk, Str: ""}, ""},
		{"nil bulk", "$-1\r\n", Reply{Kind: KindNil}, ""},
		{"nil array", "*-1\r\n", Reply{Kind: KindNil}, ""},
		{"nested array", "*2\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n", Reply{Kind: KindArray, Elems: []Reply{
			{Kind: KindInt, Int: 1, Str: "1"},
			{Kind: KindArray, Elems: []Reply{{Kind: KindBulk, Str: "x"}, {Kind: KindNil}}},
		}}, ""},
		{"resp3 map", "%1\r\n+k\r\n:2\r\n", Reply{Kind: KindArray, Elems: []Reply{
			{Kind: KindSimple, Str: "k"}, {Kind: KindInt, Int: 2, Str: "2"},
		}}, ""},
		{"resp3 null", "_\r\n", Reply{Kind: KindNil}, ""},
		{"resp3 boolean", "#t\r\n", Reply{Kind: KindInt, Int: 1, Str: "1"}, ""},
		{"resp3 verbatim", "=8\r\ntxt:abcd\r\n", Reply{Kind: KindBulk, Str: "abcd"}, ""},
		{"error", "-ERR boom\r\n", Reply{}, "redis: ERR boom"},
		{"error inside array", "*2\r\n+OK\r\n-ERR no\r\n", Reply{}, "redis: ERR no"},
		{"unknown type", "?x\r\n", Reply{}, "unknown reply type"},
		{"missing CR", "+OK\n", Reply{}, "does not end in CRLF"},
		{"truncated bulk", "$5\r\nab", Reply{}, "read bulk payload"},
		{"bulk too long", "$999999999999\r\n", Reply{}, "bad bulk length"},
		{"bad integer", ":x\r\n", Reply{}, "bad integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readReply(bufio.NewReader(strings.NewReader(tc.wire)), 0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !equalReply(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func equalReply(a, b Reply) bool {
	return a.Kind == b.Kind && a.Str == b.Str && a.Int == b.Int &&
		slices.EqualFunc(a.Elems, b.Elems, equalReply)
}

func TestEncodeCommand(t *testing.T) {
	t.Parallel()
	got := string(encodeCommand([]string{"SET", "k", ""}))
	want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
	if got != want {
		t.Fatalf("encodeCommand = %q, want %q", got, want)
	}
}

func TestChooseBackend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		env         map[string]string
		haveBinary  bool
		dockerUp    bool
		want        backend
		wantBin     string
		dockerAsked bool
	}{
		{"external wins over everything", map[string]string{EnvAddr: "127.0.0.1:6379"}, true, true, backendExternal, "", false},
		{"binary before docker", nil, true, true, backendBinary, "/x/redis-server", false},
		{"docker when no binary", nil, false, true, backendContainer, "", true},
		{"nothing", nil, false, false, backendNone, "", true},
		{"nothing, required", map[string]string{EnvRequire: "1"}, false, false, backendNone, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			asked := false
			env := environment{
				getenv: func(k string) string { return tc.env[k] },
				findBin: func(candidates ...string) (string, bool) {
					if tc.haveBinary {
						return "/x/" + candidates[0], true
					}
					return "", false
				},
				dockerUp: func() bool { asked = true; return tc.dockerUp },
			}
			got, bin := chooseBackend(env)
			if got != tc.want || bin != tc.wantBin {
				t.Errorf("chooseBackend = %v, %q; want %v, %q", got, bin, tc.want, tc.wantBin)
			}
			if asked != tc.dockerAsked {
				t.Errorf("Docker probed = %v, want %v (the probe costs a round trip)", asked, tc.dockerAsked)
			}
		})
	}
}

func TestParseAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string
		wantErr   bool
	}{
		{"127.0.0.1:6380", "127.0.0.1:6380", false},
		{"redis://127.0.0.1:6381/0", "127.0.0.1:6381", false},
		{"redis://user:pw@localhost", "localhost:6379", false},
		{"127.0.0.1", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			got, err := parseAddr(tc.raw)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseAddr(%q) = %q, %v; want %q, error %v", tc.raw, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSlot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 0x31C3 % SlotCount}, // CRC-16/XMODEM check value
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", Slot("user1000")},
		{"{user1000}.followers", Slot("user1000")},
		{"foo{}{bar}", int(crc16("foo{}{bar}") % SlotCount)}, // empty tag: whole key
		{"foo{{bar}}zap", int(crc16("{bar") % SlotCount)},    // tag is "{bar"
		{"foo{bar}{zap}", Slot("bar")},                       // first tag only
		{"{unclosed", int(crc16("{unclosed") % SlotCount)},
		{"", 0},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			if got := Slot(tc.key); got != tc.want {
				t.Errorf("Slot(%q) = %d, want %d", tc.key, got, tc.want)
			}
		})
	}
}

func TestFreeClusterPorts(t *testing.T) {
	t.Parallel()
	ports, err := freeClusterPorts(6)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < clusterPortMin || p >= clusterPortMax || p+clusterBusOffset > 65535 {
			t.Errorf("port %d outside [%d,%d)", p, clusterPortMin, clusterPortMax)
		}
		if seen[p] {
			t.Errorf("port %d chosen twice", p)
		}
		seen[p] = true
	}
}

func TestClusterFailover(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := StartCluster(t, 3, 1)
	t.Logf("cluster of %d nodes ready in %v: %s", len(c.Nodes()), time.Since(start).Round(time.Millisecond), c.URL())

	nodes := c.Nodes()
	if len(nodes) != 6 {
		t.Fatalf("Nodes() = %d, want 6", len(nodes))
	}
	opt, err := rueidis.ParseURL(c.URL())
	if err != nil {
		t.Fatalf("rueidis.ParseURL(%q): %v", c.URL(), err)
	}
	if !slices.Equal(opt.InitAddress, c.Addrs()) {
		t.Errorf("rueidis reads URL %q as %v, want every node %v", c.URL(), opt.InitAddress, c.Addrs())
	}
	roles := map[string]int{}
	for _, n := range nodes {
		roles[n.Role(t)]++
		if info := n.Do(t, "CLUSTER", "INFO"); infoField(info, "cluster_state") != "ok" {
			t.Errorf("%s: cluster_state = %q, want ok", n.Addr(), infoField(info, "cluster_state"))
		}
		if len(n.ID()) != 40 {
			t.Errorf("%s: ID() = %q, want a 40-char node ID", n.Addr(), n.ID())
		}
	}
	if roles[RolePrimary] != 3 || roles[RoleReplica] != 3 {
		t.Fatalf("roles = %v, want 3 primaries and 3 replicas", roles)
	}
	if got := len(c.Primaries(t)); got != 3 {
		t.Fatalf("Primaries() = %d nodes, want 3", got)
	}

	keys := []string{"topic-a", "topic-b", "topic-c", "{orders}.history", "news", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}"}
	for _, key := range keys {
		owner := c.PrimaryForSlot(t, Slot(key))
		if got := owner.Do(t, "CLUSTER", "KEYSLOT", key); got != strconv.Itoa(Slot(key)) {
			t.Errorf("CLUSTER KEYSLOT %q = %s, Slot() = %d", key, got, Slot(key))
		}
		// The owner accepts the key without a MOVED redirection.
		if got := owner.Do(t, "SET", key, "v"); got != "OK" {
			t.Errorf("SET %q on %s = %q", key, owner.Addr(), got)
		}
	}

	key := keys[0]
	victim := c.PrimaryForSlot(t, Slot(key))
	killedAt := time.Now()
	promoted := c.KillPrimary(t, victim)
	t.Logf("failover of %s to %s took %v", victim.Addr(), promoted.Addr(), time.Since(killedAt).Round(time.Millisecond))
	if promoted == victim {
		t.Fatal("KillPrimary returned the killed node")
	}
	if got := victim.Role(t); got != RoleDown {
		t.Errorf("killed node role = %q, want %q", got, RoleDown)
	}
	if got := promoted.Role(t); got != RolePrimary {
		t.Errorf("promoted node role = %q, want %q", got, RolePrimary)
	}
	if got := c.PrimaryForSlot(t, Slot(key)); got != promoted {
		t.Errorf("PrimaryForSlot after failover = %s, want %s", got.Addr(), promoted.Addr())
	}
	if got := len(c.Primaries(t)); got != 3 {
		t.Errorf("Primaries() after failover = %d nodes, want 3", got)
	}

	// The old primary comes back as a replica of the promoted node.
	victim.Restart(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = poll(ctx, failoverPoll, func(ctx context.Context) error {
		r, err := victim.Exec(ctx, "ROLE")
		if err != nil {
			return err
		}
		if s := r.Strings(); s[0] != RoleReplica || s[2] != promoted.Addr()[strings.LastIndexByte(promoted.Addr(), ':')+1:] {
			return errors.New("ROLE " + strings.Join(s, " "))
		}
		return nil
	})
	if err != nil {
		t.Errorf("restarted node did not rejoin as a replica of %s: %v", promoted.Addr(), err)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

func TestDockerReachable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	engine := func(status int) string {
		sock := filepath.Join(dir, strconv.Itoa(status)+".sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/_ping" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
		}))
		srv.Listener = l
		srv.Start()
		t.Cleanup(srv.Close)
		return sock
	}
	healthy, broken := engine(http.StatusOK), engine(http.StatusInternalServerError)
	tcpEngine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(tcpEngine.Close)
	missing := filepath.Join(dir, "missing.sock")

	tests := []struct {
		name    string
		env     map[string]string
		sockets []string
		want    bool
	}{
		{"no engine anywhere", nil, []string{missing}, false},
		{"default socket answers", nil, []string{missing, healthy}, true},
		{"engine answers 500", nil, []string{broken}, false},
		{"DOCKER_HOST unix", map[string]string{"DOCKER_HOST": "unix://" + healthy}, nil, true},
		{"DOCKER_HOST overrides sockets", map[string]string{"DOCKER_HOST": "unix://" + missing}, []string{healthy}, false},
		{"DOCKER_HOST tcp", map[string]string{"DOCKER_HOST": "tcp://" + tcpEngine.Listener.Addr().String()}, nil, true},
		{"DOCKER_HOST ssh is not probed", map[string]string{"DOCKER_HOST": "ssh://me@127.0.0.1"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := dockerReachable(func(k string) string { return tc.env[k] }, tc.sockets)
			if got != tc.want {
				t.Errorf("dockerReachable = %v, want %v", got, tc.want)
			}
		})
	}
}
