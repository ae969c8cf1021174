package loadgen

import (
	"container/heap"
	"sync"
	"time"
)

// reconnectQueue holds the connections waiting to reconnect, by due time.
// Readers push without blocking; one scheduler goroutine (run) hands due
// connections to the reconnect workers.
type reconnectQueue struct {
	mu   sync.Mutex
	h    dueHeap
	wake chan struct{}
}

func newReconnectQueue() *reconnectQueue {
	return &reconnectQueue{wake: make(chan struct{}, 1)}
}

// push schedules connection i at at. It never blocks.
func (q *reconnectQueue) push(i int, at time.Time) {
	q.mu.Lock()
	heap.Push(&q.h, dueItem{at: at.UnixNano(), i: i})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run sends each connection to ready when it is due, until stop is closed;
// it closes ready when it returns. ready must hold every connection: one
// is at most once in the queue or in ready, so a send never blocks.
func (q *reconnectQueue) run(stop <-chan struct{}, ready chan<- int) {
	defer close(ready)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now().UnixNano()
		next := time.Hour
		q.mu.Lock()
		for len(q.h) > 0 && q.h[0].at <= now {
			ready <- heap.Pop(&q.h).(dueItem).i
		}
		if len(q.h) > 0 {
			next = time.Duration(q.h[0].at - now)
		}
		q.mu.Unlock()
		timer.Reset(next)
		select {
		case <-stop:
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// len is the number of connections waiting.
func (q *reconnectQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h)
}

type dueItem struct {
	at int64 // unix ns
	i  int
}

// dueHeap is a min-heap of dueItems by time (container/heap).
type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(a, b int) bool { return h[a].at < h[b].at }
func (h dueHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
