package gateway

import (
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/streamid"
)

func testFrame(ms uint64) *frame {
	return newFrame("t", sid(ms), true, "", []byte("x"), time.Time{})
}

// woken reports whether c's writer was notified.
func woken(c *conn) bool {
	select {
	case <-c.notify:
		return true
	default:
		return false
	}
}

func TestConnEnqueueQueueFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		maxQueue   int
		enqueue    int
		wantQueued int
		wantClosed bool
		wantDrops  int
	}{
		{"below limit", 4, 3, 3, false, 0},
		{"at limit", 4, 4, 4, false, 0},
		// The queue of an evicted client is dropped with the event that
		// overflowed it, and so is every later event.
		{"one over closes as slow", 4, 5, 0, true, 5},
		{"far over counts every event missed", 4, 50, 0, true, 50},
		{"queue of one", 1, 2, 0, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			drops := 0
			c := newConn("c", []string{"t"}, tt.maxQueue, func(n int) { drops += n })
			for i := range tt.enqueue {
				c.enqueue(testFrame(uint64(i + 1)))
			}
			if !woken(c) {
				t.Fatal("writer not woken")
			}
			w := c.take()
			if len(w.frames) != tt.wantQueued || w.closed != tt.wantClosed || drops != tt.wantDrops {
				t.Fatalf("queued %d closed %v drops %d; want %d %v %d", len(w.frames), w.closed, drops, tt.wantQueued, tt.wantClosed, tt.wantDrops)
			}
			if tt.wantClosed && w.reason != reasonSlow {
				t.Fatalf("reason %q, want %q", w.reason, reasonSlow)
			}
		})
	}
}

func TestConnTakeSwapsQueue(t *testing.T) {
	t.Parallel()
	c := newConn("c", []string{"t"}, 8, func(int) {})
	c.enqueue(testFrame(1))
	c.enqueue(testFrame(2))
	w := c.take()
	if len(w.frames) != 2 || w.frames[0].id != sid(1) || w.frames[1].id != sid(2) {
		t.Fatalf("first take: %v", describe(w.frames))
	}
	if w := c.take(); len(w.frames) != 0 {
		t.Fatalf("second take not empty: %v", describe(w.frames))
	}
	// Reused buffers: a frame queued after take is not lost or duplicated.
	for i := range 20 {
		c.enqueue(testFrame(uint64(10 + i)))
		w := c.take()
		if len(w.frames) != 1 || w.frames[0].id != sid(uint64(10+i)) {
			t.Fatalf("round %d: %v", i, describe(w.frames))
		}
	}
}

func TestConnCloseFirstReasonWins(t *testing.T) {
	t.Parallel()
	c := newConn("c", []string{"t"}, 1, func(int) {})
	c.close(reasonError)
	c.close(reasonShutdown)
	c.enqueue(testFrame(1)) // ignored once closed
	w := c.take()
	if !w.closed || w.reason != reasonError || len(w.frames) != 0 {
		t.Fatalf("closed=%v reason=%q frames=%d", w.closed, w.reason, len(w.frames))
	}
}

func TestConnPingOnlyAfterSilence(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	base := time.Unix(1000, 0)
	tests := []struct {
		name      string
		lastWrite time.Time
		now       time.Time
		want      bool
	}{
		{"never written", time.Time{}, base, true},
		{"recent write", base, base.Add(interval / 2), false},
		{"silent for the interval", base, base.Add(interval), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConn("c", []string{"t"}, 1, func(int) {})
			if !tt.lastWrite.IsZero() {
				c.lastWrite.Store(tt.lastWrite.UnixNano())
			}
			c.ping(tt.now, interval)
			if got := c.take().ping; got != tt.want {
				t.Fatalf("ping due = %v, want %v", got, tt.want)
			}
			if c.take().ping {
				t.Fatal("take did not clear the ping")
			}
		})
	}
}

func TestConnDrain(t *testing.T) {
	t.Parallel()
	c := newConn("c", []string{"t"}, 1, func(int) {})
	c.drain()
	if !woken(c) {
		t.Fatal("drain did not wake the writer")
	}
	if w := c.take(); !w.draining || w.closed {
		t.Fatalf("draining=%v closed=%v", w.draining, w.closed)
	}
}

func TestPositionsAdvance(t *testing.T) {
	t.Parallel()
	p := positions{sid(5), streamid.Zero}
	tests := []struct {
		ti   int
		f    *frame
		want bool
	}{
		{0, testFrame(4), false},
		{0, testFrame(5), false},
		{0, testFrame(6), true},
		{0, testFrame(6), false},
		{1, testFrame(1), true},
		{1, newFrame("t", streamid.Zero, false, "", []byte("raw"), time.Time{}), true},
	}
	for i, tt := range tests {
		if got := p.advance(tt.ti, tt.f); got != tt.want {
			t.Fatalf("step %d: advance = %v, want %v", i, got, tt.want)
		}
	}
	if p[0] != sid(6) || p[1] != sid(1) {
		t.Fatalf("positions %v", p)
	}
}

func TestConnWriteReason(t *testing.T) {
	t.Parallel()
	deadline := fmt.Errorf("%w: %w", errClient, os.ErrDeadlineExceeded)
	gone := fmt.Errorf("%w: %w", errClient, io.ErrClosedPipe)
	tests := []struct {
		name     string
		overflow bool
		err      error
		want     string
	}{
		{"write aborted by a queue overflow", true, deadline, reasonSlow},
		{"write hit its deadline", false, deadline, reasonSendTimeout},
		{"client went away", false, gone, reasonNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			aborted := false
			c := newConn("c", []string{"t"}, 1, func(int) {})
			c.setAbort(func() { aborted = true })
			if tt.overflow {
				c.enqueue(testFrame(1))
				c.enqueue(testFrame(2))
				if !aborted {
					t.Fatal("queue overflow did not abort the write in progress")
				}
			}
			if got := c.writeReason(tt.err); got != tt.want {
				t.Fatalf("writeReason = %q, want %q", got, tt.want)
			}
		})
	}
}
