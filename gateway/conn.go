package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssegate/ssegate/internal/streamid"
)

// Reasons a stream ends, as counted in ssegate_gateway_connections_closed_total.
const (
	reasonNormal      = "normal"
	reasonSlow        = "slow"
	reasonSendTimeout = "send_timeout"
	reasonShutdown    = "shutdown"
	reasonAuthExpired = "auth_expired"
	reasonError       = "error"
)

// conn is one client stream's queue. The hub appends frames without
// blocking; the stream's writer takes everything queued at once and writes
// it in one go. A full queue closes the connection instead of waiting: the
// client comes back with Last-Event-ID and loses nothing.
type conn struct {
	id       string
	topics   []string // sorted
	slots    []int    // position in each hub topic's member list (hub-owned)
	maxQueue int
	notify   chan struct{} // capacity 1: something to do
	dropped  func(n int)   // counts events an evicted slow client misses

	mu       sync.Mutex
	queue    []*frame
	spare    []*frame
	closed   bool
	reason   string
	pingDue  bool
	draining bool

	expired bool
	abort   func() // makes a write in progress fail at once; set by the writer
	aborted bool   // abort was called: later writes must fail at once too
	pool    *pool  // set when the connection was hijacked and handed to the pool
	owned   bool   // pool mode: queued for, or held by, a worker or a flush

	lastWrite atomic.Int64 // unix nanoseconds of the last successful write
	expires   time.Time    // token expiry; zero = none

	// Writer state, used by whichever goroutine writes the connection: the
	// stream's handler, or in pool mode the one worker or flush that owns it.
	pos    positions
	tindex map[string]int // topic → index, for multi-topic connections
	wire   *wire          // the hijacked socket, in pool mode

	finishOnce sync.Once
	onFinish   func(reason string) // releases what the stream held
}

func newConn(id string, topics []string, maxQueue int, dropped func(n int)) *conn {
	c := &conn{
		id:       id,
		topics:   topics,
		slots:    make([]int, len(topics)),
		maxQueue: maxQueue,
		notify:   make(chan struct{}, 1),
		dropped:  dropped,
		queue:    make([]*frame, 0, 16),
		pos:      make(positions, len(topics)),
	}
	if len(topics) > 1 {
		c.tindex = make(map[string]int, len(topics))
		for i, t := range topics {
			c.tindex[t] = i
		}
	}
	return c
}

// wake tells the writer there is work: the stream's goroutine through
// notify, or in pool mode by queueing the connection for a worker unless a
// goroutine already owns it (that one looks again before letting go).
func (c *conn) wake() {
	c.mu.Lock()
	p := c.pool
	schedule := p != nil && !c.owned
	if schedule {
		c.owned = true
	}
	c.mu.Unlock()
	switch {
	case schedule:
		p.schedule(c)
	case p == nil:
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// finish runs the stream's cleanup once, whichever path ends it.
func (c *conn) finish(reason string) {
	c.finishOnce.Do(func() {
		if c.onFinish != nil {
			c.onFinish(reason)
		}
	})
}

// expire marks the subscriber's credential as expired: the writer sends
// token-expired and ends the stream.
func (c *conn) expire() {
	c.mu.Lock()
	c.expired = true
	c.mu.Unlock()
	c.wake()
}

// enqueue adds f without blocking, or closes the connection when its queue
// is full. An evicted slow client's queue is never written (it resumes from
// the last event it has), so everything it misses is counted as dropped:
// what was queued, f, and what arrives until it leaves its topics.
func (c *conn) enqueue(f *frame) {
	c.mu.Lock()
	if c.closed {
		slow := c.reason == reasonSlow
		c.mu.Unlock()
		if slow {
			c.dropped(1)
		}
		return
	}
	if len(c.queue) >= c.maxQueue {
		lost := len(c.queue) + 1
		clear(c.queue)
		c.queue = c.queue[:0]
		c.closed, c.reason, c.aborted = true, reasonSlow, true
		abort := c.abort
		c.mu.Unlock()
		c.dropped(lost)
		c.wake()
		if abort != nil {
			// The writer is most likely blocked on a client that does not
			// read: end that write now rather than at its deadline.
			abort()
		}
		return
	}
	c.queue = append(c.queue, f)
	first := len(c.queue) == 1
	c.mu.Unlock()
	if first {
		c.wake()
	}
}

// close ends the connection for reason (the first reason wins).
func (c *conn) close(reason string) {
	c.mu.Lock()
	if !c.closed {
		c.closed, c.reason = true, reason
	}
	c.mu.Unlock()
	c.wake()
}

// kill ends the connection for reason and makes a write in progress fail
// at once.
func (c *conn) kill(reason string) {
	c.mu.Lock()
	if !c.closed {
		c.closed, c.reason = true, reason
	}
	c.aborted = true
	abort := c.abort
	c.mu.Unlock()
	c.wake()
	if abort != nil {
		abort()
	}
}

// drain asks the writer to send the shutdown event and end the stream.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	c.wake()
}

// setAbort installs what ends a blocked write when the queue overflows.
func (c *conn) setAbort(fn func()) {
	c.mu.Lock()
	c.abort = fn
	c.mu.Unlock()
}

// isAborted reports whether kill or a queue overflow aborted the writes.
// A writer that sets a fresh deadline checks it afterwards: the abort may
// have come between two writes, and the new deadline would undo it.
func (c *conn) isAborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}

// evictedSlow reports whether the queue overflowed.
func (c *conn) evictedSlow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed && c.reason == reasonSlow
}

// isDraining reports whether drain was called.
func (c *conn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// ping asks the writer for a keepalive if nothing was written for interval.
func (c *conn) ping(now time.Time, interval time.Duration) {
	if now.UnixNano()-c.lastWrite.Load() < int64(interval) {
		return
	}
	c.mu.Lock()
	c.pingDue = true
	c.mu.Unlock()
	c.wake()
}

// work is what the writer takes in one pass.
type work struct {
	frames   []*frame
	ping     bool
	closed   bool
	reason   string
	draining bool
	expired  bool
}

// take swaps the queue out. The returned frames are valid until the next
// take, which reuses their slice.
func (c *conn) take() work {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := work{frames: c.queue, ping: c.pingDue, closed: c.closed, reason: c.reason, draining: c.draining, expired: c.expired}
	clear(c.spare)
	c.queue, c.spare = c.spare[:0], c.queue
	c.pingDue = false
	return w
}

// positions tracks a connection's place in each topic and filters what was
// already sent (replay and live overlap, or a client ahead of this process).
type positions []streamid.ID

// advance reports whether f is new for the connection and records it.
func (p positions) advance(ti int, f *frame) bool {
	if !f.hasID {
		return true
	}
	if !p[ti].Less(f.id) {
		return false
	}
	p[ti] = f.id
	return true
}
