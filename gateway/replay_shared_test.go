package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// readGate counts history reads and holds each one until open says
// so: the test lets a read go once every resume waits for it.
type readGate struct {
	*membroker.Broker
	reads atomic.Int64
	open  func() bool
}

func (b *readGate) History(ctx context.Context, topic string, after, until streamid.ID, limit int) (broker.Page, error) {
	b.reads.Add(1)
	deadline := time.Now().Add(30 * time.Second)
	for !b.open() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // bounded: the deadline lets the read go anyway
	}
	return b.Broker.History(ctx, topic, after, until, limit)
}

// TestStormSharesHistoryReads: 200 clients resuming one topic from the
// same position, older than the window, cost one history read per page,
// not one per client per page.
func TestStormSharesHistoryReads(t *testing.T) {
	t.Parallel()
	const clients = 200
	mb := membroker.New(broker.HistoryConfig{MaxLen: 5000})
	gb := &readGate{Broker: mb}
	r := startWindowRig(t, gb, mb, windowOn(10), []string{"storm"}, 1100, 1)
	gb.open = func() bool { return metricValue(r.on.metrics.ReplayWaiting) >= clients }
	from := r.ids["storm"][0].String()
	want := resumeBytes(t, r.off, r.topics, r.snap, from) // unshared: its own reads
	gb.reads.Store(0)
	var wg sync.WaitGroup
	got := make([]string, clients)
	for i := range clients {
		wg.Go(func() { got[i] = resumeBytes(t, r.on.Server, r.topics, r.snap, from) })
	}
	wg.Wait()
	for i, g := range got {
		if g != want {
			t.Fatalf("client %d got %d bytes, want the %d of an unshared replay", i, len(g), len(want))
		}
	}
	// 1,100 events after the position: pages of 1,000 and 100, so 400
	// reads unshared. The first page is read once (every client waits at
	// the gate); a client still counted as waiting for the first page can
	// open the gate of the second early, so stragglers may read it again.
	if reads := gb.reads.Load(); reads < 2 || reads > 4 {
		t.Fatalf("%d clients issued %d history reads, want 2 to 4 (about one per page)", clients, reads)
	}
}

// TestSharedReadWaiterLeaves: a resume whose client leaves stops waiting
// for a read that does not come back.
func TestSharedReadWaiterLeaves(t *testing.T) {
	t.Parallel()
	mb := membroker.New(broker.HistoryConfig{})
	release := make(chan struct{})
	gb := &readGate{Broker: mb, open: func() bool {
		select {
		case <-release:
			return true
		default:
			return false
		}
	}}
	sr := newSharedReads(gb, 1, newTestMetrics())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sr.history(ctx, "t", streamid.Zero)
		done <- err
	}()
	waitFor(t, 5*time.Second, "the read started", func() bool { return gb.reads.Load() == 1 })
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a waiter whose client left got no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter kept waiting after its client left")
	}
	close(release)
}
