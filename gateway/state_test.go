package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
	"github.com/ssegate/ssegate/test/harness"
)

// stateAnswer is the JSON of GET /api/state.
type stateAnswer struct {
	Topic    string `json:"topic"`
	Position string `json:"position"`
	Entries  []struct {
		ID, Key, Event, Data string
	} `json:"entries"`
	Count int `json:"count"`
}

// getState GETs /api/state with query and returns the status and body.
func getState(t *testing.T, base, query string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + "/api/state?" + query)
	if err != nil {
		t.Fatalf("GET /api/state: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func mustGetState(t *testing.T, base, topic string) stateAnswer {
	t.Helper()
	status, body := getState(t, base, "topic="+topic)
	var a stateAnswer
	if err := json.Unmarshal(body, &a); status != http.StatusOK || err != nil {
		t.Fatalf("GET /api/state?topic=%s: %d %s (%v)", topic, status, body, err)
	}
	return a
}

// TestStateRoute: GET /api/state answers a topic's latest event per key in
// stream order with the position, and refuses a bad query like the stream.
func TestStateRoute(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{StateCacheTTL: time.Nanosecond}})
	pub := func(key, event, data string) string {
		r, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
			Topic: "board", Key: key, Event: event, Data: []byte(data), AcceptedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID.String()
	}
	if a := mustGetState(t, g.URL, "board"); a.Count != 0 || len(a.Entries) != 0 || a.Position != "0-0" || a.Topic != "board" {
		t.Fatalf("empty topic: %+v", a)
	}
	pub("SP-1", "", `{"v":1}`)
	b := pub("SP-2", "spool", "two\nlines")
	a := pub("SP-1", "", `{"v":2}`)
	last := pub("", "", "unkeyed")
	got := mustGetState(t, g.URL, "board")
	want := fmt.Sprintf(`[{%s SP-2 spool two
lines} {%s SP-1 message {"v":2}}]`, b, a)
	if fmt.Sprint(got.Entries) != want || got.Count != 2 || got.Position != last {
		t.Fatalf("state = %v count %d at %s, want %s at %s", got.Entries, got.Count, got.Position, want, last)
	}
	for _, tc := range []struct{ query, code string }{
		{"topic=a&topic=b", "invalid_topic"},
		{"topic=a%20b", "invalid_topic"},
		{"topic=__keyspace@0__:x", "reserved_topic"},
		{"topic=board&lastEventId=1-0", "unknown_parameter"},
		{"topic=board;x", "invalid_query"},
	} {
		status, body := getState(t, g.URL, tc.query)
		var e struct{ Error struct{ Code string } }
		if err := json.Unmarshal(body, &e); status != http.StatusBadRequest || err != nil || e.Error.Code != tc.code {
			t.Errorf("?%s: %d %s, want 400 %s", tc.query, status, body, tc.code)
		}
	}
}

// TestStateThenStream: the position of GET /api/state, given as
// Last-Event-ID, opens a stream that delivers exactly the events published
// after it, while publishes race the reads: no event missing, none twice,
// and the state plus those events is the topic's final state. On a single
// Redis and on a 3-primary cluster with sharded pub/sub.
func TestStateThenStream(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		testStateThenStream(t, srv.URL(), false)
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t, 3, 0)
		testStateThenStream(t, c.URL(), true)
	})
}

func testStateThenStream(t *testing.T, url string, sharded bool) {
	g := startGateway(t, gateway.ProgramConfig{RedisURL: url, Sharded: sharded, Config: gateway.Config{StateCacheTTL: 5 * time.Millisecond}})
	rb, err := redisbroker.New(redisbroker.Options{URL: url, Sharded: sharded, Access: redisbroker.AccessPublish})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Close)
	const topic, keys, events, readers = "state:race", 10, 300, 6
	pub := func(key, data string) streamid.ID {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := rb.Publish(ctx, broker.PublishRequest{Topic: topic, Key: key, Data: []byte(data), AcceptedAt: time.Now()})
		if err != nil {
			t.Error(err)
		}
		return r.ID
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range events {
			pub(fmt.Sprintf("k%d", i%keys), fmt.Sprintf("k%d:%d", i%keys, i))
		}
	}()
	type client struct {
		state stateAnswer
		s     *harness.Stream
	}
	var clients []client
	for range readers {
		a := mustGetState(t, g.URL, topic)
		s := harness.Subscribe(t, g.URL+"/api/sse/stream?topic="+topic, http.Header{"Last-Event-ID": {a.Position}})
		clients = append(clients, client{a, s})
	}
	wg.Wait()
	end := pub("", "end")
	final, err := rb.State(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		checkStateStream(t, rb, topic, c.state, c.s, end, final, i)
	}
}

// checkStateStream reads s until the event end and checks it against the
// history after the state's position, then applies it to the state.
func checkStateStream(t *testing.T, rb *redisbroker.Broker, topic string, a stateAnswer, s *harness.Stream, end streamid.ID, final broker.State, i int) {
	t.Helper()
	pos, err := streamid.Parse(a.Position)
	if err != nil {
		t.Fatalf("client %d: position %q: %v", i, a.Position, err)
	}
	page, err := rb.History(context.Background(), topic, pos, end, 10000)
	if err != nil || page.Lost {
		t.Fatalf("client %d: history after %s: %+v %v", i, pos, page, err)
	}
	board := map[string]string{}
	for _, e := range a.Entries {
		if id, _ := streamid.Parse(e.ID); pos.Less(id) {
			t.Fatalf("client %d: entry %s after the position %s", i, e.ID, pos)
		}
		board[e.Key] = e.Data
	}
	for n, want := range page.Entries {
		ev := s.MustNext(t, 10*time.Second)
		if ev.ID != want.ID.String() || ev.Data != string(want.Data) {
			t.Fatalf("client %d (from %s): event %d is %s %q, want %s %q", i, pos, n, ev.ID, ev.Data, want.ID, want.Data)
		}
		if ev.Data != "end" {
			board[ev.Data[:indexColon(ev.Data)]] = ev.Data
		}
	}
	want := map[string]string{}
	for _, e := range final.Entries {
		want[e.Key] = string(e.Data)
	}
	if fmt.Sprint(board) != fmt.Sprint(want) {
		t.Fatalf("client %d: state + stream = %v, want %v", i, board, want)
	}
}

// indexColon is where the key ends in the test's data "k<n>:<i>".
func indexColon(s string) int {
	for i := range len(s) {
		if s[i] == ':' {
			return i
		}
	}
	return len(s)
}
