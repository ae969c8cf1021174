package membroker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/streamid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recorder struct {
	mu   sync.Mutex
	msgs []envelope.Envelope
	raw  [][]byte
}

func (r *recorder) Message(_ string, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	env, ok, err := envelope.Decode(payload)
	if err != nil {
		panic(err)
	}
	if ok {
		r.msgs = append(r.msgs, env)
	} else {
		r.raw = append(r.raw, payload)
	}
}

func (r *recorder) Resubscribed(string) {}

func start(t *testing.T, cfg broker.HistoryConfig) (*Broker, *recorder) {
	t.Helper()
	b := New(cfg)
	if b.Healthy() {
		t.Fatal("healthy before Run")
	}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	started := make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		_ = b.Run(ctx, rec)
	}()
	<-started
	t.Cleanup(func() { cancel(); <-done })
	// Run installs the sink asynchronously; Healthy says when it is in place.
	deadline := time.Now().Add(5 * time.Second)
	for !b.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("Run did not install the sink")
		}
		time.Sleep(time.Millisecond) // bounded poll of an internal condition
	}
	return b, rec
}

func TestPublishDeliversInOrderWithIncreasingIDs(t *testing.T) {
	t.Parallel()
	b, rec := start(t, broker.HistoryConfig{})
	ctx := context.Background()
	if err := b.Subscribe(ctx, []string{"t"}); err != nil {
		t.Fatal(err)
	}
	var last streamid.ID
	for i := range 100 {
		res, err := b.Publish(ctx, broker.PublishRequest{Topic: "t", Data: []byte{byte('a' + i%26)}, AcceptedAt: time.Now()})
		if err != nil || res.Receivers != 1 {
			t.Fatalf("publish: %v %+v", err, res)
		}
		if !last.Less(res.ID) {
			t.Fatalf("id %v not after %v", res.ID, last)
		}
		last = res.ID
	}
	if n := len(rec.msgs); n != 100 {
		t.Fatalf("delivered %d, want 100", n)
	}
	unsub, err := b.Publish(ctx, broker.PublishRequest{Topic: "other", Data: []byte("x")})
	if err != nil || unsub.Receivers != 0 {
		t.Fatalf("unsubscribed topic: %v %+v", err, unsub)
	}
	if b.PublishRaw("t", []byte("raw")) != 1 || len(rec.raw) != 1 {
		t.Fatal("raw message not delivered")
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	b, _ := start(t, broker.HistoryConfig{MaxLen: 10})
	ctx := context.Background()
	var ids []streamid.ID
	for range 25 {
		res, err := b.Publish(ctx, broker.PublishRequest{Topic: "h", Data: []byte("d")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	tests := []struct {
		name        string
		topic       string
		after       streamid.ID
		until       streamid.ID
		limit       int
		wantLost    string
		wantEntries int
	}{
		{"retained tail", "h", ids[16], streamid.Zero, 100, "", 8},
		{"bounded by until", "h", ids[16], ids[20], 100, "", 4},
		{"limit", "h", ids[15], streamid.Zero, 3, "", 3},
		{"trimmed", "h", ids[5], streamid.Zero, 100, "trimmed", 0},
		{"ahead of the stream", "h", ids[24].Next(), streamid.Zero, 100, "unknown_stream", 0},
		{"unknown topic", "nope", ids[0], streamid.Zero, 100, "unknown_stream", 0},
		{"unknown topic from zero", "nope", streamid.Zero, streamid.Zero, 100, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := b.History(ctx, tt.topic, tt.after, tt.until, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if page.Reason != tt.wantLost || page.Lost != (tt.wantLost != "") || len(page.Entries) != tt.wantEntries {
				t.Fatalf("page = lost %v %q, %d entries; want %q, %d", page.Lost, page.Reason, len(page.Entries), tt.wantLost, tt.wantEntries)
			}
			for i := 1; i < len(page.Entries); i++ {
				if !page.Entries[i-1].ID.Less(page.Entries[i].ID) {
					t.Fatal("entries out of order")
				}
			}
		})
	}
	if last, _ := b.Last(ctx, "h"); last != ids[24] {
		t.Fatalf("Last = %v, want %v", last, ids[24])
	}
}

// TestHistoryPositionFromAnotherHistory: a position that was never an entry
// of the history (a client of an earlier process), inside its range or
// before its first entry, cannot be resumed; an entry's own position can.
// Next is the clock when it is past the newest entry.
func TestHistoryPositionFromAnotherHistory(t *testing.T) {
	t.Parallel()
	b, _ := start(t, broker.HistoryConfig{})
	now := time.Unix(1_700_000_000, 0)
	b.now = func() time.Time { return now }
	ctx := context.Background()
	var ids []streamid.ID
	for range 3 {
		res, err := b.Publish(ctx, broker.PublishRequest{Topic: "p", Data: []byte("d")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
		now = now.Add(10 * time.Millisecond)
	}
	for _, pos := range []streamid.ID{{Ms: ids[0].Ms + 5}, {Ms: ids[0].Ms - 5}} {
		if page, _ := b.History(ctx, "p", pos, streamid.Zero, 10); !page.Lost || page.Reason != "unknown_stream" {
			t.Fatalf("position %v, never an entry: lost=%v %q, want unknown_stream", pos, page.Lost, page.Reason)
		}
	}
	if page, _ := b.History(ctx, "p", streamid.Zero, streamid.Zero, 10); page.Lost || len(page.Entries) != 3 {
		t.Fatalf("from the start: lost=%v %q, %d entries, want 3", page.Lost, page.Reason, len(page.Entries))
	}
	if page, _ := b.History(ctx, "p", ids[2], streamid.Zero, 10); page.Next != (streamid.ID{Ms: ids[2].Ms + 10}) {
		t.Fatalf("Next = %v, want the clock %d-0 (after the last entry)", page.Next, ids[2].Ms+10)
	}
	if page, _ := b.History(ctx, "p", ids[0], streamid.Zero, 10); page.Lost || len(page.Entries) != 2 {
		t.Fatalf("position of an entry: lost=%v %q, %d entries, want 2", page.Lost, page.Reason, len(page.Entries))
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	b, _ := start(t, broker.HistoryConfig{IdempotencyTTL: time.Hour})
	now := time.Unix(1_700_000_000, 0)
	b.now = func() time.Time { return now }
	ctx := context.Background()
	req := broker.PublishRequest{Topic: "i", Data: []byte("d"), IdempotencyKey: "k", Fingerprint: "f1"}
	first, err := b.Publish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Publish(ctx, req)
	if err != nil || !again.Replayed || again.ID != first.ID {
		t.Fatalf("retry = %+v, %v", again, err)
	}
	req.Fingerprint = "f2"
	if _, err := b.Publish(ctx, req); !errors.Is(err, broker.ErrIdempotencyConflict) {
		t.Fatalf("reused key: %v", err)
	}
	now = now.Add(2 * time.Hour)
	later, err := b.Publish(ctx, req)
	if err != nil || later.Replayed || later.ID == first.ID {
		t.Fatalf("after the TTL = %+v, %v", later, err)
	}
	page, _ := b.History(ctx, "i", streamid.Zero, streamid.Zero, 10)
	if len(page.Entries) != 2 {
		t.Fatalf("history has %d entries, want 2", len(page.Entries))
	}
}
