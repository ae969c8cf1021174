package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/streamid"
)

// StateRace is issue 14's race: Events keyed publishes spread over Keys
// keys race Clients streams opening with ?state=1 (one opens every
// Events/Clients publishes), then one last event on its own key ends the
// run. Every client must end with, per key, the latest event Redis holds
// (GET /api/state), and none may receive after its state marker an event
// older than the one it already holds for that key, or any id twice, or
// miss one published after the marker's position.
type StateRace struct {
	Gateway   string // base URL the clients connect to (and GET /api/state)
	Publisher string // base URL of the publisher (POST /v1/events)
	Topic     string
	Keys      int
	Events    int
	Clients   int
	Timeout   time.Duration // bounds the whole run
}

// raceEvent is an event of the race as a client holds it.
type raceEvent struct {
	id   streamid.ID
	data string
}

// raceClient is one stream of the race, read by its own goroutine.
type raceClient struct {
	board  map[string]raceEvent // key → latest event held
	marker bool
	last   streamid.ID   // newest id received
	from   streamid.ID   // the marker's position
	live   []streamid.ID // ids received after the marker
	done   chan struct{} // closed once it holds the end key, or its stream ended
	once   sync.Once
	err    error
}

func (c *raceClient) finish() { c.once.Do(func() { close(c.done) }) }

// raceData is the data of every event the race publishes.
type raceData struct {
	K string `json:"k"`
	I int    `json:"i"`
}

// Run runs the race and fails the test on any violation.
func (r StateRace) Run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	clients := make([]*raceClient, r.Clients)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // ends the streams before wg.Wait
	published := make(chan int, r.Events)
	pubErr := make(chan error, 1)
	ids := make([]streamid.ID, 0, r.Events+1)
	go func() { pubErr <- r.publish(ctx, hc, published, &ids) }()
	next := 0
	for count := range published {
		for ; next < r.Clients && next*r.Events/r.Clients <= count; next++ {
			c := &raceClient{board: map[string]raceEvent{}, done: make(chan struct{})}
			clients[next] = c
			wg.Go(func() {
				c.err = c.read(ctx, hc, r.Gateway+"/api/sse/stream?topic="+url.QueryEscape(r.Topic)+"&state=1")
				c.finish()
			})
		}
	}
	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	end, err := postKeyed(ctx, hc, r.Publisher, r.Topic, "end", raceData{K: "end", I: r.Events})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		select {
		case <-c.done:
		case <-ctx.Done():
			cancel()
			wg.Wait()
			t.Fatalf("client %d: no event %s within %v (marker %v, newest %s)", i, end, r.Timeout, c.marker, c.last)
		}
	}
	cancel()
	wg.Wait()
	endID, _ := streamid.Parse(end)
	r.check(t, clients, end, append(ids, endID))
}

// check compares every client's board with GET /api/state at end, and
// what it received after its marker with every id published after it.
func (r StateRace) check(t *testing.T, clients []*raceClient, end string, ids []streamid.ID) {
	t.Helper()
	var st stateAnswer
	Eventually(t, r.Timeout, "GET /api/state at the last event", func() bool {
		resp, err := http.Get(r.Gateway + "/api/state?topic=" + url.QueryEscape(r.Topic))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.Position == end
	})
	if len(st.Entries) != r.Keys+1 {
		t.Fatalf("state has %d keys, want %d", len(st.Entries), r.Keys+1)
	}
	for i, c := range clients {
		c.check(t, i, st.Entries, ids)
	}
}

// stateEntry is one key of GET /api/state's answer.
type stateEntry struct{ ID, Key, Data string }

// check compares the client's board with entries, and what it received
// after its marker with the ids published after it.
func (c *raceClient) check(t *testing.T, i int, entries []stateEntry, ids []streamid.ID) {
	t.Helper()
	if c.err != nil && !errors.Is(c.err, context.Canceled) {
		t.Errorf("client %d: %v", i, c.err)
		return
	}
	k := slices.IndexFunc(ids, func(id streamid.ID) bool { return c.from.Less(id) })
	if k < 0 {
		k = len(ids)
	}
	if want := ids[k:]; !slices.Equal(c.live, want) {
		t.Errorf("client %d: %d events after its marker %s, %d published after it", i, len(c.live), c.from, len(want))
	}
	if len(c.board) != len(entries) {
		t.Errorf("client %d holds %d keys, state %d", i, len(c.board), len(entries))
	}
	for _, e := range entries {
		if got := c.board[e.Key]; got.id.String() != e.ID || got.data != e.Data {
			t.Errorf("client %d key %s: holds %s %s, state %s %s", i, e.Key, got.id, got.data, e.ID, e.Data)
		}
	}
}

// publish posts the race's events from 8 workers, sending the running count
// on published, which it closes at the end.
func (r StateRace) publish(ctx context.Context, hc *http.Client, published chan<- int, ids *[]streamid.ID) error {
	defer close(published)
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		count atomic.Int64
		first atomic.Pointer[error]
	)
	next := make(chan int, r.Events)
	for i := range r.Events {
		next <- i
	}
	close(next)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				k := fmt.Sprintf("k%02d", i%r.Keys)
				idText, err := postKeyed(ctx, hc, r.Publisher, r.Topic, k, raceData{K: k, I: i})
				if err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				id, _ := streamid.Parse(idText)
				mu.Lock()
				*ids = append(*ids, id)
				mu.Unlock()
				published <- int(count.Add(1))
			}
		})
	}
	wg.Wait()
	slices.SortFunc(*ids, streamid.ID.Compare)
	if err := first.Load(); err != nil {
		return *err
	}
	return nil
}

// postKeyed publishes data as key's event on topic and returns its id.
func postKeyed(ctx context.Context, hc *http.Client, base, topic, key string, data raceData) (string, error) {
	body, err := json.Marshal(map[string]any{"topic": topic, "key": key, "data": data})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", key, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct{ ID string }
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &out) != nil || out.ID == "" {
		return "", fmt.Errorf("publish %s: %d %s", key, resp.StatusCode, raw)
	}
	return out.ID, nil
}

// read reads the stream at u until ctx ends, holding per key the latest
// event: the state's events before the marker, live events after it. It
// closes done once it holds the "end" key, and fails on an id that is not
// newer than the last one (after the marker) or than the key's.
func (c *raceClient) read(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stream: %s", resp.Status)
	}
	return c.consume(resp.Body)
}

// consume applies body's events until it ends or one is wrong; that one
// closes body, so the run fails now rather than at its timeout.
func (c *raceClient) consume(body io.ReadCloser) error {
	var bad error
	err := ReadEvents(body, Handler{Event: func(ev Event) {
		if bad == nil {
			if bad = c.event(ev); bad != nil {
				body.Close()
			}
		}
	}})
	if bad != nil {
		return bad
	}
	return fmt.Errorf("stream ended: %w", err)
}

// event applies one event to the client's board.
func (c *raceClient) event(ev Event) error {
	if ev.Name == "state" {
		if c.marker {
			return errors.New("a second state marker")
		}
		c.marker = true
		id, err := streamid.Parse(ev.ID)
		if err != nil || id.Less(c.last) {
			return fmt.Errorf("marker id %q before the state's newest %s", ev.ID, c.last)
		}
		c.last, c.from = id, id
		return nil
	}
	var d raceData
	id, err := streamid.Parse(ev.ID)
	if err != nil || ev.Name != "message" || json.Unmarshal([]byte(ev.Data), &d) != nil {
		return fmt.Errorf("unexpected event %+v", ev)
	}
	if !c.last.Less(id) {
		return fmt.Errorf("event %s after %s (marker seen: %v)", id, c.last, c.marker)
	}
	if held, ok := c.board[d.K]; ok && !held.id.Less(id) {
		return fmt.Errorf("key %s: event %s after holding %s", d.K, id, held.id)
	}
	c.last = id
	if c.marker {
		c.live = append(c.live, id)
	}
	c.board[d.K] = raceEvent{id: id, data: ev.Data}
	if d.K == "end" {
		c.finish()
	}
	return nil
}
