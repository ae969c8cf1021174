package hardening

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// jwtDeployment is the real gateway (JWT subscribers) and publisher
// binaries on a real Redis, both with SSEGATE_MAX_TOPIC_LEN=300.
type jwtDeployment struct {
	gw, pub string // base URLs
}

// maxTopicLen is the deployment's SSEGATE_MAX_TOPIC_LEN, above the
// default of 128.
const maxTopicLen = 300

func startJWTDeployment(t *testing.T) jwtDeployment {
	t.Helper()
	dir := buildCmds(t)
	rd := redistest.Start(t)
	env := []string{"SSEGATE_REDIS_URL=" + rd.URL(), "SSEGATE_JWT_SECRET=" + jwtSecret, "SSEGATE_JWT_AUDIENCE=" + audience,
		fmt.Sprintf("SSEGATE_MAX_TOPIC_LEN=%d", maxTopicLen)}
	pub := startLogged(t, filepath.Join(dir, "publisher"), env...)
	pubAddr := pub.waitFor(t, regexp.MustCompile(`"msg":"publisher listening","addr":"([^"]+)"`))
	gw := startLogged(t, filepath.Join(dir, "gateway"), append(env, "SSEGATE_SUBSCRIBE_AUTH=jwt")...)
	gwAddr := gw.waitFor(t, regexp.MustCompile(`"msg":"gateway listening","addr":"([^"]+)"`))
	d := jwtDeployment{gw: "http://" + gwAddr, pub: "http://" + pubAddr}
	harness.WaitHTTP(t, d.gw+"/readyz", http.StatusOK)
	return d
}

// signRaw builds an HS256 JWT from raw JSON, so a test controls member
// names, order and duplicates exactly.
func signRaw(header, payload string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(jwtSecret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

const hs256 = `{"alg":"HS256","typ":"JWT"}`

// TestJWTClaims attacks JWT claim decoding and the claim-pattern length on
// the real binaries.
func TestJWTClaims(t *testing.T) {
	d := startJWTDeployment(t)
	t.Run("ClaimNameCaseVariantsRefused", func(t *testing.T) { claimCaseVariantsRefused(t, d) })
	t.Run("LongTopicPatternsFollowMaxTopicLen", func(t *testing.T) { longTopicPatterns(t, d) })
}

// claimCaseVariantsRefused: tokens whose claims hold case variants of
// exp, aud or the topic claims, a string exp, or a crit header, are
// refused with 401 invalid_token by the gateway and the publisher, while
// a control stream with a correct token keeps receiving events.
func claimCaseVariantsRefused(t *testing.T, d jwtDeployment) {
	const tp = "jwt:case"
	now := time.Now()
	past, future := now.Add(-time.Hour).Unix(), now.Add(time.Hour).Unix()
	good := signRaw(hs256, fmt.Sprintf(`{"aud":%q,"exp":%d,"ssegate.subscribe":[%q],"ssegate.publish":[%q],"Name":"ok"}`, audience, future, tp, tp))
	control := harness.Subscribe(t, d.gw+streamPath+"?topic="+tp, bearer(good))
	attacks := []struct{ name, header, claims, says string }{
		{"exp past, EXP future", hs256, fmt.Sprintf(`{"aud":%q,"exp":%d,"EXP":%d,"ssegate.subscribe":[%[4]q],"ssegate.publish":[%[4]q]}`, audience, past, future, tp), `claim \"exp\"`},
		{"upper-case topic claims", hs256, fmt.Sprintf(`{"aud":%q,"exp":%d,"SSEGATE.SUBSCRIBE":[%[3]q],"SSEGATE.PUBLISH":[%[3]q]}`, audience, future, tp), `claim \"ssegate.`},
		{"AUD overriding aud", hs256, fmt.Sprintf(`{"aud":"other","AUD":%q,"exp":%d,"ssegate.subscribe":[%[3]q],"ssegate.publish":[%[3]q]}`, audience, future, tp), `claim \"aud\"`},
		{"exp as a string", hs256, fmt.Sprintf(`{"aud":%q,"exp":"%d","ssegate.subscribe":[%[3]q],"ssegate.publish":[%[3]q]}`, audience, future, tp), "NumericDate"},
		{"crit header", `{"alg":"HS256","typ":"JWT","crit":["exp"]}`, fmt.Sprintf(`{"aud":%q,"exp":%d,"ssegate.subscribe":[%[3]q],"ssegate.publish":[%[3]q]}`, audience, future, tp), "crit"},
	}
	for _, a := range attacks {
		tok := signRaw(a.header, a.claims)
		res := get(t, d.gw+streamPath+"?topic="+tp, bearer(tok))
		wantError(t, res, http.StatusUnauthorized, "invalid_token", "WWW-Authenticate", `Bearer realm="ssegate", error="invalid_token"`)
		if !strings.Contains(string(res.Body), a.says) {
			t.Fatalf("%s: subscribe refusal %s does not say %s", a.name, res.Body, a.says)
		}
		body, _ := json.Marshal(map[string]any{"topic": tp, "data": a.name})
		res = post(t, d.pub+"/v1/events", body, bearer(tok))
		wantError(t, res, http.StatusUnauthorized, "invalid_token", "WWW-Authenticate", `Bearer realm="ssegate", error="invalid_token"`)
	}
	body, _ := json.Marshal(map[string]any{"topic": tp, "data": "after the attacks"})
	if res := post(t, d.pub+"/v1/events", body, bearer(good)); res.Status != http.StatusAccepted {
		t.Fatalf("publish with a correct token: %d %s", res.Status, res.Body)
	}
	if ev := control.MustNext(t, 10*time.Second); ev.Name != "message" || !strings.Contains(ev.Data, "after the attacks") {
		t.Fatalf("control stream got %+v, want only the event published with the correct token", ev)
	}
}

// longTopicPatterns: with SSEGATE_MAX_TOPIC_LEN=300, a token granting an
// exact 200-byte topic subscribes and publishes to it (it was refused with
// 401 against the default 128); a pattern over 300 bytes is still refused.
func longTopicPatterns(t *testing.T, d jwtDeployment) {
	long := "jwt:" + strings.Repeat("l", 196)
	future := time.Now().Add(time.Hour).Unix()
	tok := signRaw(hs256, fmt.Sprintf(`{"aud":%q,"exp":%d,"ssegate.subscribe":[%[3]q],"ssegate.publish":[%[3]q]}`, audience, future, long))
	s := harness.Subscribe(t, d.gw+streamPath+"?topic="+long, bearer(tok))
	body, _ := json.Marshal(map[string]any{"topic": long, "data": "long topic"})
	if res := post(t, d.pub+"/v1/events", body, bearer(tok)); res.Status != http.StatusAccepted {
		t.Fatalf("publish to a 200-byte topic granted by the token: %d %s", res.Status, res.Body)
	}
	if ev := s.MustNext(t, 10*time.Second); !strings.Contains(ev.Data, "long topic") {
		t.Fatalf("stream got %+v", ev)
	}

	tooLong := "jwt:" + strings.Repeat("x", maxTopicLen)
	over := signRaw(hs256, fmt.Sprintf(`{"aud":%q,"exp":%d,"ssegate.subscribe":[%[3]q,%[4]q]}`, audience, future, long, tooLong+"*"))
	res := get(t, d.gw+streamPath+"?topic="+long, bearer(over))
	wantError(t, res, http.StatusUnauthorized, "invalid_token")
	if !strings.Contains(string(res.Body), "invalid topic pattern") {
		t.Fatalf("refusal %s does not name the pattern", res.Body)
	}
}
