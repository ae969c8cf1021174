package gateway

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
)

// Where a stream continues after its state: the state's position P, which
// may be behind the hub's snapshot S (a cached read: (P, S] is replayed
// after the marker), or ahead of it (the read saw an event the hub had not
// delivered to the connection yet: live events up to P are skipped).

// aheadBroker publishes one keyed event right before the next state read,
// so that read is ahead of the hub's snapshot of a connection that just
// joined, and the event reaches the connection's live queue as well.
type aheadBroker struct {
	*membroker.Broker
	mu    sync.Mutex
	armed bool
	ahead string // the id of the event published before the read
}

func (b *aheadBroker) State(ctx context.Context, topic string) (broker.State, error) {
	b.mu.Lock()
	if b.armed {
		b.armed = false
		r, err := b.Publish(ctx, broker.PublishRequest{Topic: topic, Key: "k", Data: []byte("ahead"), AcceptedAt: time.Now()})
		if err != nil {
			b.mu.Unlock()
			return broker.State{}, err
		}
		b.ahead = r.ID.String()
	}
	b.mu.Unlock()
	return b.Broker.State(ctx, topic)
}

// statePub publishes a keyed event on b and returns its id.
func statePub(t *testing.T, b interface {
	Publish(context.Context, broker.PublishRequest) (broker.PublishResult, error)
}, topic, key, data string) string {
	t.Helper()
	r, err := b.Publish(context.Background(), broker.PublishRequest{Topic: topic, Key: key, Data: []byte(data), AcceptedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID.String()
}

// openBody opens a stream and returns its body, closed when the test ends.
func openBody(t *testing.T, url string) io.Reader {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	return resp.Body
}

// expectBytes reads len(want) bytes of r and compares them.
func expectBytes(t *testing.T, r io.Reader, want string) {
	t.Helper()
	got := make([]byte, len(want))
	n, err := io.ReadFull(r, got)
	if err != nil || string(got) != want {
		t.Fatalf("stream bytes (%v):\n%q\nwant:\n%q", err, got[:n], want)
	}
}

func marker(pos string, keys int) string {
	k := strconv.Itoa(keys)
	return "id: " + pos + "\nevent: state\ndata: {\"position\":\"" + pos + "\",\"keys\":" + k + ",\"topics\":[{\"topic\":\"t\",\"position\":\"" + pos + "\",\"keys\":" + k + "}]}\n\n"
}

// TestStreamStateAheadOfHub: an event in the state that the connection's
// live queue also gets is sent once, as part of the state.
func TestStreamStateAheadOfHub(t *testing.T) {
	t.Parallel()
	b := &aheadBroker{Broker: membroker.New(broker.HistoryConfig{})}
	ts := startTestServer(t, b, Config{Retry: 1500 * time.Millisecond, StateCacheTTL: time.Nanosecond})
	statePub(t, b, "t", "j", "before")
	b.mu.Lock()
	b.armed = true
	b.mu.Unlock()
	body := openBody(t, ts.URL+streamPath+"?topic=t&state=1")
	b.mu.Lock()
	ahead := b.ahead
	b.mu.Unlock()
	if ahead == "" {
		t.Fatal("the state read published nothing")
	}
	j := b.Broker
	expectBytes(t, body, "retry: 1500\n: ok\n\n")
	st, err := j.State(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	expectBytes(t, body, "id: "+st.Entries[0].ID.String()+"\ndata: before\n\nid: "+ahead+"\ndata: ahead\n\n"+marker(ahead, 2))
	next := statePub(t, b, "t", "k", "next")
	expectBytes(t, body, "id: "+next+"\ndata: next\n\n")
}

// TestStreamStateBehindHub: a cached state older than the connection's
// snapshot is followed, after its marker, by the events since, from
// history; one older than history retains by a reset and a fresh state.
func TestStreamStateBehindHub(t *testing.T) {
	t.Parallel()
	b := membroker.New(broker.HistoryConfig{MaxLen: 5})
	ts := startTestServer(t, b, Config{Retry: 1500 * time.Millisecond, StateCacheTTL: time.Hour})
	url := ts.URL + streamPath + "?topic=t&state=1"
	old := statePub(t, b, "t", "k", "v1")
	fill := openBody(t, url) // reads the state into the cache
	expectBytes(t, fill, "retry: 1500\n: ok\n\nid: "+old+"\ndata: v1\n\n"+marker(old, 1))

	v2 := statePub(t, b, "t", "k", "v2")
	w := statePub(t, b, "t", "j", "w")
	body := openBody(t, url)
	expectBytes(t, body, "retry: 1500\n: ok\n\nid: "+old+"\ndata: v1\n\n"+marker(old, 1)+
		"id: "+v2+"\ndata: v2\n\nid: "+w+"\ndata: w\n\n")
	next := statePub(t, b, "t", "j", "live")
	expectBytes(t, body, "id: "+next+"\ndata: live\n\n")

	var last string
	for i := range 10 {
		last = statePub(t, b, "t", "j", "x"+strconv.Itoa(i))
	}
	body = openBody(t, url)
	expectBytes(t, body, "retry: 1500\n: ok\n\nid: "+old+"\ndata: v1\n\n"+marker(old, 1)+
		"id: "+last+"\nevent: reset\ndata: {\"reason\":\"trimmed\",\"topics\":[\"t\"]}\n\n"+
		"id: "+v2+"\ndata: v2\n\nid: "+last+"\ndata: x9\n\n"+marker(last, 2))
}
