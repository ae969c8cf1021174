package publisher

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// TestStateKeys checks, on a real Redis, what the publish routes put into a
// topic's keyed state: a spool event under its tag_spool, a /v1/events event
// under its key, a tombstone's removal, and the key limit's eviction of the
// oldest key by a new key's event, which is published.
func TestStateKeys(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	hist := broker.HistoryConfig{State: broker.StateConfig{MaxKeys: 2}}
	s := startProgram(t, ProgramConfig{RedisURL: rs.URL(), History: hist})
	rb, err := redisbroker.New(redisbroker.Options{URL: rs.URL(), History: hist})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Close)
	state := func(topic string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := rb.State(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range st.Entries {
			keys = append(keys, e.Key)
		}
		return strings.Join(keys, ",")
	}
	topic := "publisher-state:" + time.Now().Format("150405.000000000")
	xlen := func() string { t.Helper(); return rs.Do(t, "XLEN", redisbroker.StreamKey(topic)) }

	s.postUntilServed(t, "/publish", `{"event_type":"TOMAR","tag_spool":"SP-1 / A"}`, nil)
	if got := state(SpoolTopic); got != "SP-1 / A" {
		t.Fatalf("spool state keys = %q, want the tag_spool", got)
	}
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"a","data":1}`, nil), http.StatusAccepted, topic)
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"b","data":1}`, nil), http.StatusAccepted, topic)
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","data":"unkeyed"}`, nil), http.StatusAccepted, topic)
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"a","data":2}`, nil), http.StatusAccepted, topic)
	if got := state(topic); got != "b,a" {
		t.Fatalf("after updating a: keys %q, want b,a", got)
	}
	before := xlen()
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"c","data":1}`, nil), http.StatusAccepted, topic)
	if got := xlen(); got == before || state(topic) != "a,c" {
		t.Fatalf("after a third key: XLEN %s (was %s), keys %q, want a,c (b, the oldest, evicted)", got, before, state(topic))
	}
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"c","delete":true,"type":"removed","data":{}}`, nil), http.StatusAccepted, topic)
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"c","data":1}`, nil), http.StatusAccepted, topic)
	if got := state(topic); got != "a,c" {
		t.Fatalf("keys = %q, want a,c", got)
	}
	// An Idempotency-Key binds the state key too: the same data under
	// another key is another request.
	idem := map[string]string{"Idempotency-Key": topic}
	wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"a","data":3}`, idem), http.StatusAccepted, topic)
	wantError(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"c","data":3}`, idem), http.StatusUnprocessableEntity, "idempotency_key_reused")
	wantError(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","key":"a","delete":true,"data":3}`, idem), http.StatusUnprocessableEntity, "idempotency_key_reused")
}
