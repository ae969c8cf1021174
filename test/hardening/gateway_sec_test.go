package hardening

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/test/harness"
)

// TestRedisInternalChannelsAsTopics: with keyspace notifications on, the
// channels Redis publishes on itself ("__keyevent@0__:set" streams the name
// of every key written) are refused as topics, to subscribe and to
// publish, with 400 reserved_topic; ordinary topics, the legacy
// spools:updates among them, work as before.
func TestRedisInternalChannelsAsTopics(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	r.redis.Do(t, "CONFIG", "SET", "notify-keyspace-events", "KEA")
	ctl := r.newControl(t, controlTopic, 1)
	reserved := []string{"__keyevent@0__:set", "__keyspace@0__:spools:updates", "__keyevent@0__:xadd", "__redis__:invalidate", "__sentinel__:hello", "__x"}
	ctl.during(t, func() {
		for _, name := range reserved {
			wantError(t, get(t, r.gw.URL+streamPath+"?topic="+url.QueryEscape(name), nil), http.StatusBadRequest, "reserved_topic")
			wantError(t, get(t, r.gw.URL+streamPath+"?topic=hard:ok&topic="+url.QueryEscape(name), nil), http.StatusBadRequest, "reserved_topic")
			body, err := json.Marshal(map[string]any{"topic": name, "data": 1})
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, post(t, r.pub.URL+"/v1/events", body, bearer(staticToken)), http.StatusBadRequest, "reserved_topic")
			if n := r.redis.NumSub(t, name); n != 0 {
				t.Fatalf("PUBSUB NUMSUB %s = %d after a refused subscribe", name, n)
			}
		}
	})
	if got, want := r.rejected(t, "reserved_topic"), float64(2*len(reserved)); got != want {
		t.Fatalf("rejected{reserved_topic} = %v, want %v", got, want)
	}

	// Names that only contain underscores elsewhere are ordinary topics.
	for _, name := range []string{"_single", "a__b", "spools:__x"} {
		s := harness.Subscribe(t, r.gw.URL+streamPath+"?topic="+url.QueryEscape(name), nil)
		id, err := publishOnce(context.Background(), http.DefaultClient, r.pub.URL, name, map[string]any{"n": 1})
		if err != nil {
			t.Fatal(err)
		}
		if ev := s.MustNext(t, 5*time.Second); ev.ID != id {
			t.Fatalf("topic %q: got event %q, want %q", name, ev.ID, id)
		}
		s.Close()
	}
	// The legacy topic, through the legacy endpoint, to the default stream.
	legacy := harness.Subscribe(t, r.gw.URL+streamPath, nil)
	res := post(t, r.pub.URL+"/publish", []byte(`{"event_type":"TOMAR","tag_spool":"SP-1"}`), bearer(staticToken))
	if res.Status != http.StatusAccepted {
		t.Fatalf("legacy publish: %d %s", res.Status, res.Body)
	}
	if ev := legacy.MustNext(t, 5*time.Second); !strings.Contains(ev.Data, `"SP-1"`) {
		t.Fatalf("spools:updates event %+v", ev)
	}
	ctl.verify(t)
}

// TestSemicolonQuery: a query Go parses only in part ("topic=a;topic=b",
// the old semicolon syntax, or a bad escape) is refused with 400
// invalid_query instead of silently streaming the default topic.
func TestSemicolonQuery(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	ctl := r.newControl(t, controlTopic, 1)
	queries := []string{"topic=hard:a;topic=hard:b", "topic=hard:a;", ";", "topic=hard:a&x;y=1", "topic=%zz", "topic=hard:a&lastEventId=%"}
	ctl.during(t, func() {
		for _, q := range queries {
			wantError(t, get(t, r.gw.URL+streamPath+"?"+q, nil), http.StatusBadRequest, "invalid_query")
		}
		if n := r.redis.NumSub(t, "spools:updates"); n != 0 {
			t.Fatalf("the default topic was subscribed (PUBSUB NUMSUB = %d)", n)
		}
	})
	if got, want := r.rejected(t, "invalid_query"), float64(len(queries)); got != want {
		t.Fatalf("rejected{invalid_query} = %v, want %v", got, want)
	}
	ctl.verify(t)
}

// TestCORSWildcard: "*" lets any origin read streams but never with
// credentials (Access-Control-Allow-Origin: *, no Allow-Credentials), on
// the stream and on the preflight; beside "*", a listed origin is echoed
// with credentials and only that one.
func TestCORSWildcard(t *testing.T) {
	const listed = "https://app.example.com"
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{CORSOrigins: []string{"*"}}})
	both := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: r.redis.URL(), Config: gateway.Config{CORSOrigins: []string{"*", listed}}})
	harness.WaitHTTP(t, both.URL+"/readyz", http.StatusOK)
	check := func(t *testing.T, base, origin, wantOrigin string, creds bool) {
		t.Helper()
		stream := base + streamPath + "?topic=hard:cors"
		s := get(t, stream, http.Header{"Origin": {origin}})
		pre, err := http.NewRequest(http.MethodOptions, stream, nil)
		if err != nil {
			t.Fatal(err)
		}
		pre.Header.Set("Origin", origin)
		pre.Header.Set("Access-Control-Request-Method", "GET")
		p := send(t, pre)
		for what, resp := range map[string]response{"stream": s, "preflight": p} {
			want := map[string]int{"stream": http.StatusOK, "preflight": http.StatusNoContent}[what]
			gotCreds := resp.Header.Get("Access-Control-Allow-Credentials")
			if resp.Status != want || resp.Header.Get("Access-Control-Allow-Origin") != wantOrigin || (gotCreds == "true") != creds ||
				(!creds && gotCreds != "") || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
				t.Fatalf("%s from %s: %d, Allow-Origin %q, Allow-Credentials %q, Vary %q; want %d, %q, credentials %v",
					what, origin, resp.Status, resp.Header.Get("Access-Control-Allow-Origin"), gotCreds, resp.Header.Get("Vary"), want, wantOrigin, creds)
			}
		}
	}
	for _, origin := range []string{"https://anything.example", "http://localhost:3000", listed} {
		check(t, r.gw.URL, origin, "*", false)
	}
	check(t, both.URL, listed, listed, true)
	check(t, both.URL, "https://anything.example", "*", false)
	check(t, both.URL, "https://app.example.com.evil.example", "*", false)
}

// TestDNSRebindingHostAllowlist: a page whose own host name was made to
// resolve to the gateway sends requests that are same-origin for the
// browser (Origin and Host both name the attacker's host), so the origin
// check passes them. With SSEGATE_ALLOWED_HOSTS they get 421
// host_not_allowed, on the stream and the other routes, while the listed
// names (any case, any port, trailing dot) and the probes keep working.
func TestDNSRebindingHostAllowlist(t *testing.T) {
	hosts, err := gateway.ParseAllowedHosts([]string{"127.0.0.1", "Events.Example.COM"})
	if err != nil {
		t.Fatal(err)
	}
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{AllowedHosts: hosts}})
	ctl := r.newControl(t, controlTopic, 1) // Host 127.0.0.1:port: listed
	port := r.gw.URL[strings.LastIndex(r.gw.URL, ":"):]
	withHost := func(path, host, origin string) response {
		req, err := http.NewRequest(http.MethodGet, r.gw.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		return send(t, req)
	}
	ctl.during(t, func() {
		for _, host := range []string{"rebind.evil.example" + port, "events.example.com.evil.example", "localhost" + port, "[::1]" + port} {
			wantError(t, withHost(streamPath+"?topic=hard:rebind", host, "http://"+host), http.StatusMisdirectedRequest, "host_not_allowed")
			wantError(t, withHost(streamPath+"?topic=hard:rebind", host, ""), http.StatusMisdirectedRequest, "host_not_allowed")
			wantError(t, withHost("/", host, ""), http.StatusMisdirectedRequest, "host_not_allowed")
			if n := r.redis.NumSub(t, "hard:rebind"); n != 0 {
				t.Fatalf("host %q: PUBSUB NUMSUB hard:rebind = %d", host, n)
			}
			for _, probe := range []string{"/healthz", "/readyz", "/metrics"} {
				if got := withHost(probe, host, ""); got.Status != http.StatusOK {
					t.Fatalf("probe %s with Host %q: %d", probe, host, got.Status)
				}
			}
		}
		for _, host := range []string{"events.example.com" + port, "EVENTS.example.com.", "events.example.com"} {
			if got := withHost(streamPath+"?topic=hard:rebind", host, "http://"+host); got.Status != http.StatusOK {
				t.Fatalf("listed host %q: %d %s", host, got.Status, got.Body)
			}
		}
	})
	if got := r.rejected(t, "host_not_allowed"); got != 8 {
		t.Fatalf("rejected{host_not_allowed} = %v, want 8 (the refused stream requests)", got)
	}
	ctl.verify(t)
}
