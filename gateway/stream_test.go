package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/test/harness"
)

func TestStreamHeadersAndFirstBytes(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{Retry: 1500 * time.Millisecond}})
	rs := dialRaw(t, g.URL, "/api/sse/stream", false)
	resp := rs.resp // its body is never closed: that would drain the endless stream; the conn is closed by cleanup
	wantHeaders := map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	for k, v := range wantHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Nothing is published: the preamble and the stream's position (the
	// topic has no history: 0-0) must arrive on their own, flushed at once
	// (the read deadline of dialRaw bounds the wait).
	want := "retry: 1500\n: ok\n\nid: 0-0\n\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatalf("reading the first bytes: %v (got %q)", err, got)
	}
	if string(got) != want {
		t.Fatalf("first bytes %q, want %q", got, want)
	}
	// And the first event follows the preamble.
	_ = rs.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	id := publish(t, g, "spools:updates", "hello")
	wantEv := "id: " + id + "\ndata: hello\n\n"
	gotEv := make([]byte, len(wantEv))
	if _, err := io.ReadFull(resp.Body, gotEv); err != nil || string(gotEv) != wantEv {
		t.Fatalf("first event %q (%v), want %q", gotEv, err, wantEv)
	}
}

func TestStreamDefaultTopic(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{})
	s := harness.Subscribe(t, streamURL(g, ""), nil)
	publish(t, g, "other", "not for this stream")
	id := publish(t, g, "spools:updates", "spool 1")
	expectEvent(t, s, "message", id, "spool 1")
}

func TestStreamBadRequests(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{MaxTopics: 3}})
	tests := []struct {
		name, query, code string
	}{
		{"empty topic", "topic=", "invalid_topic"},
		{"brace in topic", "topic=" + url.QueryEscape("a{b}"), "invalid_topic"},
		{"space in topic", "topic=a+b", "invalid_topic"},
		{"topic too long", "topic=" + strings.Repeat("x", 129), "invalid_topic"},
		{"too many topics", "topic=a&topic=b&topic=c&topic=d", "invalid_topic"},
		{"unknown parameter", "topics=a", "unknown_parameter"},
		{"unknown parameter beside a good one", "topic=a&since=0", "unknown_parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := http.Get(streamURL(g, tt.query))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (body %s)", resp.StatusCode, body)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			var eb struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tt.code || eb.Error.Message == "" {
				t.Fatalf("body %s, want error code %q", body, tt.code)
			}
		})
	}
}

func TestStreamKeepalive(t *testing.T) {
	t.Parallel()
	t.Run("ping after silence", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{PingInterval: 50 * time.Millisecond}})
		s := harness.Subscribe(t, streamURL(g, ""), nil)
		for _, want := range []string{"ok", "ping", "ping"} {
			c, err := s.Comment(5 * time.Second)
			if err != nil || c != want {
				t.Fatalf("comment %q (%v), want %q", c, err, want)
			}
		}
	})
	t.Run("no ping while events flow", func(t *testing.T) {
		t.Parallel()
		// An interval far above the event pace: only a stall of a whole
		// second on a busy machine could make a ping due.
		const interval = time.Second
		g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{PingInterval: interval}})
		s := harness.Subscribe(t, streamURL(g, ""), nil)
		if c, err := s.Comment(5 * time.Second); err != nil || c != "ok" {
			t.Fatalf("comment %q (%v), want ok", c, err)
		}
		// An event every 20 ms for two intervals: never silent for long.
		pace := time.NewTicker(20 * time.Millisecond)
		defer pace.Stop()
		for i := range int(2 * interval / (20 * time.Millisecond)) {
			<-pace.C
			id := publish(t, g, "spools:updates", strconv.Itoa(i))
			expectEvent(t, s, "message", id, strconv.Itoa(i))
		}
		if c, err := s.Comment(10 * time.Millisecond); !errors.Is(err, harness.ErrTimeout) {
			t.Fatalf("got comment %q while events flowed", c)
		}
	})
}

func TestStreamResume(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{})
	tests := []struct {
		name string
		how  func(topic, id string) (query string, h http.Header)
	}{
		{"Last-Event-ID header", func(topic, id string) (string, http.Header) {
			return "topic=" + topic, http.Header{"Last-Event-Id": {id}}
		}},
		{"lastEventId parameter", func(topic, id string) (string, http.Header) {
			return "topic=" + topic + "&lastEventId=" + url.QueryEscape(id), nil
		}},
		{"last_event_id parameter", func(topic, id string) (string, http.Header) {
			return "topic=" + topic + "&last_event_id=" + url.QueryEscape(id), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topic := "resume-" + strings.ReplaceAll(strings.ToLower(tt.name), " ", "-")
			var ids []string
			for i := range 5 {
				ids = append(ids, publish(t, g, topic, "e"+strconv.Itoa(i)))
			}
			q, h := tt.how(topic, ids[1])
			s := harness.Subscribe(t, streamURL(g, q), h)
			for i := 2; i < 5; i++ {
				expectEvent(t, s, "message", ids[i], "e"+strconv.Itoa(i))
			}
			for i := 5; i < 8; i++ { // then live, nothing repeated
				id := publish(t, g, topic, "e"+strconv.Itoa(i))
				expectEvent(t, s, "message", id, "e"+strconv.Itoa(i))
			}
		})
	}
}

// resetData is the data of a reset event.
type resetData struct {
	Reason string   `json:"reason"`
	Topics []string `json:"topics"`
}

func TestStreamResumeReset(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{})
	trimmed := startGateway(t, gateway.ProgramConfig{History: broker.HistoryConfig{MaxLen: 10}})
	tests := []struct {
		name   string
		g      *harness.Gateway
		topics []string
		last   func(ids []string) string // from the ids published before
		reason string
	}{
		{"malformed text", g, []string{"rm1"}, func([]string) string { return "not-an-id" }, "malformed"},
		{"malformed number", g, []string{"rm2"}, func([]string) string { return "01-0" }, "malformed"},
		{"wrong count for topics", g, []string{"rm3a", "rm3b"}, func(ids []string) string { return ids[0] }, "malformed"},
		{"ahead of the topic", g, []string{"rm4"}, func([]string) string { return "99999999999999-0" }, "unknown_stream"},
		{"trimmed", trimmed, []string{"rt"}, func(ids []string) string { return ids[0] }, "trimmed"},
		{"unknown stream", g, []string{"never-published"}, func([]string) string { return "1-0" }, "unknown_stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ids []string
			if tt.topics[0] != "never-published" {
				for i := range 50 {
					ids = append(ids, publish(t, tt.g, tt.topics[0], strconv.Itoa(i)))
				}
			}
			q := url.Values{"topic": tt.topics}
			s := harness.Subscribe(t, streamURL(tt.g, q.Encode()), http.Header{"Last-Event-Id": {tt.last(ids)}})
			if s.Resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s, want 200 (EventSource gives up on anything else)", s.Resp.Status)
			}
			now := "0-0"
			if len(ids) > 0 {
				now = ids[len(ids)-1]
			}
			for range tt.topics[1:] {
				now += "_0-0"
			}
			{
				ev := s.MustNext(t, 5*time.Second)
				if ev.Name != "reset" || ev.ID != now {
					t.Fatalf("got event %q id %q, want reset with id %q", ev.Name, ev.ID, now)
				}
				var d resetData
				if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.Reason != tt.reason || len(d.Topics) == 0 {
					t.Fatalf("reset data %s, want reason %q", ev.Data, tt.reason)
				}
			}
			// The stream continues live from "now", with nothing replayed.
			id := publish(t, tt.g, tt.topics[0], "live")
			if len(tt.topics) > 1 {
				id += "_0-0"
			}
			expectEvent(t, s, "message", id, "live")
		})
	}
}

func TestStreamLegacyRawMessage(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{})
	single := harness.Subscribe(t, streamURL(g, "topic=legacy"), nil)
	multi := harness.Subscribe(t, streamURL(g, "topic=legacy&topic=zz"), nil)
	waitFor(t, 5*time.Second, "streams registered", func() bool { return g.Program.Server().Connections() == 2 })
	id1 := publish(t, g, "legacy", "one")
	expectEvent(t, single, "message", id1, "one")
	expectEvent(t, multi, "message", id1+"_0-0", "one")
	if n := g.Program.Embedded().PublishRaw("legacy", []byte(`{"spool":"SP-1"}`+"\nsecond line")); n != 1 {
		t.Fatalf("raw publish reached %d subscribers", n)
	}
	for _, s := range []*harness.Stream{single, multi} {
		expectEvent(t, s, "message", "", `{"spool":"SP-1"}`+"\nsecond line")
	}
	if got := single.LastEventID(); got != id1 {
		t.Fatalf("raw message changed the last event id to %q", got)
	}
	id2 := publish(t, g, "legacy", "two")
	expectEvent(t, single, "message", id2, "two")
	expectEvent(t, multi, "message", id2+"_0-0", "two")
	z1 := publish(t, g, "zz", "z")
	expectEvent(t, multi, "message", id2+"_"+z1, "z")
}
