package hardening

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// Users of the least-privilege tests.
const (
	publisherUser = "ssegate-publisher"
	gatewayUser   = "ssegate-gateway"
	userPassword  = "user-password-0123456789"
	adminPassword = "admin-password-0123456789"
)

// TestRedisLeastPrivilege: the ACL rules README.md documents are enough
// for both services end to end (behind requirepass, one user from the URL,
// the other with its password in a file), and each permission in them is
// needed: without it the service ends at start with one line naming it.
func TestRedisLeastPrivilege(t *testing.T) {
	t.Run("DocumentedRulesWork", documentedRulesWork)
	t.Run("RulesInDocs", rulesInDocs)
	t.Run("MissingPermissionRefused", func(t *testing.T) { missingPermissionRefused(t, buildCmds(t)) })
}

// setUser creates (or replaces) user with password and rule.
func setUser(t *testing.T, srv *redistest.Server, user, rule string) {
	t.Helper()
	args := append([]string{"ACL", "SETUSER", user, "reset", "on", ">" + userPassword}, strings.Fields(rule)...)
	srv.Do(t, args...)
}

// writeSecret writes a password file readable by its owner only.
func writeSecret(t *testing.T, dir, password string) string {
	t.Helper()
	path := filepath.Join(dir, "redis-password")
	if err := os.WriteFile(path+".tmp", []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}

func documentedRulesWork(t *testing.T) {
	srv := redistest.Start(t)
	setUser(t, srv, publisherUser, redisbroker.PublisherACL)
	setUser(t, srv, gatewayUser, redisbroker.GatewayACL)
	srv.RequirePass(t, adminPassword)
	file := writeSecret(t, t.TempDir(), userPassword)
	pub := harness.StartPublisher(t, publisher.ProgramConfig{
		RedisURL:      "redis://" + publisherUser + "@" + srv.Addr() + "/0",
		RedisSecurity: redisbroker.Security{PasswordFile: file},
	})
	gw := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: "redis://" + gatewayUser + ":" + userPassword + "@" + srv.Addr() + "/0"})
	(&degraded{gw: gw, pub: pub}).checkUp(t)
	// Nothing was denied on the way (a denied command inside a script
	// would also leave an entry here).
	if log := srv.Do(t, "ACL", "LOG"); log != "" {
		t.Fatalf("ACL LOG is not empty: %s", log)
	}
}

// rulesInDocs: the rules the code checks are the ones the docs give.
func rulesInDocs(t *testing.T) {
	for _, doc := range []string{"../../README.md", "../../docs/deployment.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, rule := range []string{redisbroker.PublisherACL, redisbroker.GatewayACL} {
			if !strings.Contains(string(b), rule) {
				t.Errorf("%s does not give the rule %q", doc, rule)
			}
		}
	}
}

// missingPermissionRefused removes one permission at a time from the
// documented rule and runs the binary: one line naming what is missing.
// ssubscribe, sunsubscribe and spublish are needed with sharded pub/sub
// only, cluster|slots in a Cluster only; channels are not checked (see
// the probe).
func missingPermissionRefused(t *testing.T, dir string) {
	srv := redistest.Start(t)
	cases := []struct{ bin, rule string }{{"publisher", redisbroker.PublisherACL}, {"gateway", redisbroker.GatewayACL}}
	type refusal struct{ bin, user, want string }
	var runs []refusal
	for _, c := range cases {
		for _, perm := range strings.Fields(c.rule) {
			if !strings.HasPrefix(perm, "+") || perm == "+cluster|slots" || strings.HasPrefix(perm, "+s") && perm != "+set" && perm != "+subscribe" {
				continue
			}
			user := c.bin + strings.ReplaceAll(perm, "|", "-")
			setUser(t, srv, user, strings.Replace(c.rule, " "+perm+" ", " ", 1))
			want := "the redis user lacks a permission (" + perm + ")"
			switch perm {
			case "+ping", "+eval", "+evalsha":
				want = "the redis user lacks a permission (NOPERM this user has no permissions to run the '" + perm[1:] + "' command)"
			}
			runs = append(runs, refusal{c.bin, user, want})
		}
		user := c.bin + "-keys"
		setUser(t, srv, user, strings.Replace(c.rule, "~ssegate:*", "~other:*", 1))
		runs = append(runs, refusal{c.bin, user, "the redis user lacks a permission (NOPERM this user has no permissions to access one of the keys"})
	}
	srv.RequirePass(t, adminPassword)
	if len(runs) != 30 {
		t.Fatalf("%d cases, want 30 (17 publisher and 11 gateway commands, keys of each)", len(runs))
	}
	for _, r := range runs {
		t.Run(r.user, func(t *testing.T) {
			t.Parallel()
			stderr, err := run(t, filepath.Join(dir, r.bin), "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true",
				"SSEGATE_REDIS_URL=redis://"+r.user+":"+userPassword+"@"+srv.Addr()+"/0")
			wantOneLine(t, r.bin, stderr, err, r.want)
			if strings.Contains(stderr, userPassword) {
				t.Fatalf("stderr contains the password:\n%s", stderr)
			}
		})
	}
}
