package gateway_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/test/harness"
)

// Issue 14: ?state=1 sends the latest event of every key before anything
// live, then an `event: state` marker whose id is the position the live
// stream continues from (docs/CONTRACT.md "State").

// keyedPublisher publishes keyed events on g's embedded broker.
func keyedPublisher(t *testing.T, g *harness.Gateway) func(topic, key, event, data string, del bool) string {
	return func(topic, key, event, data string, del bool) string {
		t.Helper()
		r, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
			Topic: topic, Key: key, Event: event, Data: []byte(data), Delete: del, AcceptedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID.String()
	}
}

// readExactly reads len(want) bytes of a raw stream and compares them.
func readExactly(t *testing.T, rs *rawStream, want string) {
	t.Helper()
	if rs.resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(rs.resp.Body, 1024))
		t.Fatalf("status %s: %s", rs.resp.Status, body)
	}
	got := make([]byte, len(want))
	n, err := io.ReadFull(rs.resp.Body, got)
	if err != nil || string(got) != want {
		t.Fatalf("stream bytes (%v):\n%q\nwant:\n%q", err, got[:n], want)
	}
}

// TestStreamStateBytes: the exact bytes of a single-topic state stream:
// preamble, no position frame, every key's latest event in stream order
// framed as replay frames it (id, event name unless message, data lines),
// the marker, then the next live event.
func TestStreamStateBytes(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{Config: gateway.Config{Retry: 1500 * time.Millisecond, StateCacheTTL: time.Nanosecond}})
	pub := keyedPublisher(t, g)
	pub("st:a", "SP-1", "", `{"v":1}`, false)
	b := pub("st:a", "SP-2", "spool", "two\nlines", false)
	a := pub("st:a", "SP-1", "", `{"v":2}`, false)
	last := pub("st:a", "", "", "unkeyed", false)
	rs := dialRaw(t, g.URL, "/api/sse/stream?topic=st:a&state=1", false)
	readExactly(t, rs, "retry: 1500\n: ok\n\n"+
		"id: "+b+"\nevent: spool\ndata: two\ndata: lines\n\n"+
		"id: "+a+"\ndata: {\"v\":2}\n\n"+
		"id: "+last+"\nevent: state\ndata: {\"position\":\""+last+"\",\"keys\":2,\"topics\":[{\"topic\":\"st:a\",\"position\":\""+last+"\",\"keys\":2}]}\n\n")
	_ = rs.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	next := pub("st:a", "SP-2", "", "3", false)
	readExactly(t, rs, "id: "+next+"\ndata: 3\n\n")
}
