package ctl

import (
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/redistest"
)

// TestToken: with the services' own key settings in its environment,
// token mints a publisher JWT the publisher accepts and a subscriber JWT a
// gateway with SSEGATE_SUBSCRIBE_AUTH=jwt accepts (tail gets the event);
// without a token, or for a topic the token does not grant, the gateway
// refuses and tail exits 1 saying why.
func TestToken(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-ctl"
	keys := map[string]string{"SSEGATE_JWT_SECRET": secret, "SSEGATE_JWT_AUDIENCE": "ssegate"}
	env := []string{"SSEGATE_JWT_SECRET=" + secret, "SSEGATE_JWT_AUDIENCE=ssegate"}
	srv := redistest.Start(t)
	gw, pub := services(t, srv.URL()+"/0", map[string]string{
		"SSEGATE_SUBSCRIBE_AUTH": "jwt", "SSEGATE_JWT_SECRET": keys["SSEGATE_JWT_SECRET"], "SSEGATE_JWT_AUDIENCE": keys["SSEGATE_JWT_AUDIENCE"],
	})
	pubTok := strings.TrimSpace(mustCtl(t, env, "", "token", "-role", "publisher", "-topics", "spools:*", "-sub", "backend"))
	subTok := strings.TrimSpace(mustCtl(t, env, "", "token", "-topics", "spools:*", "-ttl", "10m"))
	if strings.Count(pubTok, ".") != 2 || strings.Count(subTok, ".") != 2 {
		t.Fatalf("not JWTs: %q, %q", pubTok, subTok)
	}
	if r := ctl(t, nil, "", "publish", "-url", pub.URL, "-topic", "spools:a", "-data", "1"); r.code != 1 || !strings.Contains(r.stderr, "401") {
		t.Fatalf("publish without a token: exit %d, stderr %q; want 1 and 401", r.code, r.stderr)
	}
	id := strings.TrimSpace(mustCtl(t, []string{"SSEGATE_TOKEN=" + pubTok}, "", "publish", "-url", pub.URL, "-topic", "spools:a", "-data", "1"))
	out := mustCtl(t, nil, "", "tail", "-url", gw.URL, "-token", subTok, "-from", "0-0", "-n", "1", "spools:a")
	if out != id+"\tmessage\t1\n" {
		t.Fatalf("tail with the minted token: %q, want %s", out, id)
	}
	for name, args := range map[string][]string{
		"no token":        {"tail", "-url", gw.URL, "-n", "1", "spools:a"},
		"topic not given": {"tail", "-url", gw.URL, "-token", subTok, "-n", "1", "orders"},
	} {
		if r := ctl(t, nil, "", args...); r.code != 1 || !strings.Contains(r.stderr, "HTTP 40") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the gateway's 401/403", name, r.code, r.stderr)
		}
	}
	// Usage errors: no key, no topics, an unknown role.
	for name, tc := range map[string]struct {
		env  []string
		args []string
	}{
		"no key":       {nil, []string{"token", "-topics", "a"}},
		"no topics":    {env, []string{"token"}},
		"unknown role": {env, []string{"token", "-topics", "a", "-role", "admin"}},
		"short secret": {[]string{"SSEGATE_JWT_SECRET=short"}, []string{"token", "-topics", "a"}},
	} {
		if r := ctl(t, tc.env, "", tc.args...); r.code != 2 || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and no token", name, r.code, r.stdout, r.stderr)
		}
	}
}
