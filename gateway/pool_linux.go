package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file and its tests are Linux-only: the pool needs epoll and
// non-blocking writes on the raw socket. pool_other.go stands in elsewhere,
// where every stream keeps its handler goroutine (as with
// SSEGATE_WRITERS=-1).

// pool writes to hijacked HTTP/1.1 connections from a few worker goroutines
// instead of one goroutine per connection, and notices closed connections
// through one epoll instance. A connection then costs its queue and its
// socket, not a goroutine stack and net/http's per-connection buffers.
//
// A connection is owned by at most one goroutine at a time: it is idle, in
// the run queue, being written by a worker, or being flushed by a slow-path
// goroutine after the socket buffer filled. Only clients that cannot keep
// up ever get a goroutine of their own, and it ends with the write deadline.
type pool struct {
	s       *Server
	workers int
	queue   runQueue
	watch   *watcher
	wg      sync.WaitGroup // workers, watcher and slow flushes
}

func newPool(s *Server, workers int) (*pool, error) {
	w, err := newWatcher()
	if err != nil {
		return nil, err
	}
	return &pool{s: s, workers: workers, queue: runQueue{wake: make(chan struct{}, workers)}, watch: w}, nil
}

// handOff gives the hijacked connection nc of cn to the pool, which writes
// it from now on. It returns false, with the reason the stream ends, when
// the pool cannot take it; the caller then still owns nc and cn.
func (p *pool) handOff(cn *conn, nc net.Conn, log *slog.Logger) (string, bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok { // a listener that wraps its connections: the pool cannot write them
		log.Warn("hijacked connection has no socket; set SSEGATE_WRITERS=-1 for this listener", "type", fmt.Sprintf("%T", nc))
		return reasonError, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return reasonError, false
	}
	if err := nc.SetWriteDeadline(time.Time{}); err != nil { // the pool's writes do not wait
		return reasonNormal, false
	}
	cn.wire = &wire{nc: nc, raw: raw}
	if err := p.watch.add(cn); err != nil {
		log.Warn("cannot watch connection", "err", err)
		return reasonError, false
	}
	cn.adopt(p)
	return "", true
}

// pooledWriter is the pool's write path for one hijacked HTTP/1.1
// connection: the handler goroutine writes the preamble and the replay
// through the chunkWriter, then serve hands the socket to the pool.
type pooledWriter struct {
	*chunkWriter
	p   *pool
	log *slog.Logger
}

// writer returns the pooled write path of the hijacked connection cw writes.
func (p *pool) writer(cw *chunkWriter, log *slog.Logger) writer {
	return &pooledWriter{chunkWriter: cw, p: p, log: log}
}

// serve hands the stream to the pool (see handOff); buf is not needed.
func (w *pooledWriter) serve(_ context.Context, cn *conn, _ []byte) (string, bool) {
	return w.p.handOff(cn, w.nc, w.log)
}

// close closes the socket of a stream the pool did not take.
func (w *pooledWriter) close() { _ = w.nc.Close() }

// schedule queues c for a worker; conn.wake calls it when no goroutine
// owns c.
func (p *pool) schedule(c *conn) { p.queue.push(c) }

// adopt hands the connection to the pool, which writes it from now on.
func (c *conn) adopt(p *pool) {
	c.mu.Lock()
	c.pool, c.owned = p, true
	c.mu.Unlock()
	p.queue.push(c)
}

// release gives up a pool worker's ownership, or queues the connection
// again when more work arrived while it was being written.
func (c *conn) release(p *pool) {
	c.mu.Lock()
	more := len(c.queue) > 0 || c.pingDue || c.closed || c.draining || c.expired
	if !more {
		c.owned = false
	}
	c.mu.Unlock()
	if more {
		p.queue.push(c)
	}
}

// run starts the workers and the watcher and waits for them after ctx ends.
func (p *pool) run(ctx context.Context) {
	for range p.workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			buf := make([]byte, 0, 64<<10)
			for {
				c := p.queue.pop(ctx)
				if c == nil {
					return
				}
				buf = p.serve(c, buf)
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.watch.run(ctx)
	}()
	<-ctx.Done()
	p.wg.Wait()
	// Nothing writes any more: a connection still open (idle, queued after
	// the workers left, or handed off just now) would keep its socket and
	// its place in the hub for ever. End them; add refuses new ones.
	for _, c := range p.watch.stop() {
		p.finish(c, reasonShutdown)
	}
	p.watch.close()
}

// serve renders and writes what c has queued. buf is the worker's buffer.
func (p *pool) serve(c *conn, buf []byte) []byte {
	wk := c.take()
	if cap(buf) < chunkHeader {
		buf = make([]byte, 0, 64<<10)
	}
	buf = buf[:chunkHeader] // room for the chunk size line
	out, n, final := p.s.render(c, wk, buf)
	if final == reasonSlow {
		p.finish(c, final)
		return out
	}
	msg := frameChunk(out, 0, final != "")
	if len(msg) == 0 {
		if final != "" {
			p.finish(c, final)
		} else {
			c.release(p)
		}
		return out
	}
	written, err := c.wire.tryWrite(msg)
	switch {
	case err != nil && !errors.Is(err, unix.EAGAIN):
		p.finish(c, p.s.writeFailed(c, err, n))
		return out
	case written < len(msg):
		c.wire.pending = append(c.wire.pending[:0], msg[written:]...)
		p.wg.Add(1)
		go p.flush(c, n, final)
		return out
	}
	c.lastWrite.Store(time.Now().UnixNano())
	p.s.metrics.Delivered.Add(float64(n))
	if final != "" {
		p.finish(c, final)
		return out
	}
	c.release(p)
	if cap(out) > 1<<20 {
		out = make([]byte, 0, 64<<10)
	}
	return out
}

// flush writes a connection's pending bytes with the send timeout; it is
// the slow path for a client whose socket buffer is full.
func (p *pool) flush(c *conn, n int, final string) {
	defer p.wg.Done()
	nc := c.wire.nc
	if err := armDeadline(c, nc, p.s.cfg.SendTimeout); err != nil {
		p.finish(c, reasonNormal)
		return
	}
	_, err := nc.Write(c.wire.pending)
	c.wire.pending = c.wire.pending[:0]
	if cap(c.wire.pending) > 64<<10 {
		c.wire.pending = nil
	}
	if err != nil {
		p.finish(c, p.s.writeFailed(c, err, n))
		return
	}
	// The non-blocking path must not see this deadline: a past deadline
	// fails every later write at once.
	if err := nc.SetWriteDeadline(time.Time{}); err != nil {
		p.finish(c, reasonNormal)
		return
	}
	c.lastWrite.Store(time.Now().UnixNano())
	p.s.metrics.Delivered.Add(float64(n))
	if final != "" {
		p.finish(c, final)
		return
	}
	c.release(p)
}

// finish ends a pooled connection for reason.
func (p *pool) finish(c *conn, reason string) {
	p.watch.remove(c)
	_ = c.wire.nc.Close()
	c.finish(reason)
}

// wire is a hijacked connection's socket.
type wire struct {
	nc      net.Conn
	raw     syscall.RawConn
	key     uint64 // the watcher's key
	pending []byte // bytes a non-blocking write could not take
}

// tryWrite writes without waiting: it returns how much the socket took.
func (w *wire) tryWrite(b []byte) (int, error) {
	var n int
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := rawWrite(fd, b[n:])
			if m > 0 {
				n += m
			}
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				werr = e
				break
			}
			if m == 0 {
				break
			}
		}
		return true // never wait for writability here
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// rawWrite is write(2) on a non-blocking socket without telling the
// runtime that a system call is in progress (syscall.RawSyscall, no
// entersyscall/exitsyscall). The write never waits, so there is nothing for
// the runtime to schedule around, while a tracked system call lets sysmon
// take the worker's P away whenever one write outlasts its 20 µs tick: at
// 10,000 writes per event that retake churn (and sysmon's own 20 µs polling,
// which it keeps up while it retakes) was ~10 % of the gateway's CPU
// (docs/benchmarks.md, "Latency tail").
func rawWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// runQueue is the workers' FIFO of connections with work.
type runQueue struct {
	mu    sync.Mutex
	items []*conn
	head  int
	wake  chan struct{}
}

func (q *runQueue) push(c *conn) {
	q.mu.Lock()
	if q.head > 0 && len(q.items) == cap(q.items) {
		// Reuse the popped front rather than growing: a queue that never
		// empties would otherwise grow with every push.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, c)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *runQueue) pop(ctx context.Context) *conn {
	for {
		q.mu.Lock()
		if q.head < len(q.items) {
			c := q.items[q.head]
			q.items[q.head] = nil
			q.head++
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			}
			q.mu.Unlock()
			return c
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil
		}
	}
}
