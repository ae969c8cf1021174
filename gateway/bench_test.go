package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/streamid"
)

// benchData is a typical spool update.
var benchData = []byte(`{"spool":"SP-1042","state":"printing","progress":0.42,"printer":"lab-3"}`)

// BenchmarkFanout measures one message queued on every connection of a
// topic. allocs/op is per message: it must not grow with the number of
// connections (the frame is encoded once and shared).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000, -1000, -10000} {
		name := fmt.Sprintf("%dk", n/1000)
		window := n < 0 // the same with the recent-events window on (window.go)
		if window {
			n = -n
			name = fmt.Sprintf("%dk-window", n/1000)
		}
		b.Run(name, func(b *testing.B) {
			const drainEvery = 256
			h := newTestHub()
			if window {
				h.win = newWindowConfig(DefaultConfig(), h.metrics)
			}
			openTopic(b, h, "t", streamid.Zero)
			conns := make([]*conn, n)
			for i := range conns {
				conns[i] = newConn(fmt.Sprint(i), []string{"t"}, drainEvery+1, func(int) {})
				h.join(conns[i])
			}
			drain := func() {
				for _, c := range conns {
					c.take()
				}
			}
			var seq uint64
			payload := make([]byte, 0, 256)
			accepted := time.Now()
			// Warm up: grow every queue and its spare to drainEvery.
			for range 2 {
				for range drainEvery {
					seq++
					h.message("t", envelope.Append(payload[:0], sid(seq), accepted, "", benchData))
				}
				drain()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				seq++
				h.message("t", envelope.Append(payload[:0], sid(seq), accepted, "", benchData))
				if (i+1)%drainEvery == 0 {
					b.StopTimer()
					drain()
					b.StartTimer()
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			for _, c := range conns {
				if c.take().closed {
					b.Fatal("a connection was evicted during the benchmark")
				}
			}
		})
	}
}

// BenchmarkEnqueueTake measures the hand-off of frames from the fan-out to
// a connection's writer.
func BenchmarkEnqueueTake(b *testing.B) {
	f := newFrame("t", sid(1), true, "", benchData, time.Time{})
	b.Run("same goroutine/batch16", func(b *testing.B) {
		c := newConn("c", []string{"t"}, 64, func(int) {})
		b.ReportAllocs()
		for i := range b.N {
			c.enqueue(f)
			if i%16 == 15 {
				<-c.notify
				c.take()
			}
		}
	})
	b.Run("writer goroutine", func(b *testing.B) {
		c := newConn("c", []string{"t"}, 1<<30, func(int) {})
		done := make(chan int)
		go func() { // the writer: takes until it has seen b.N frames
			got := 0
			for got < b.N {
				<-c.notify
				got += len(c.take().frames)
			}
			done <- got
		}()
		b.ReportAllocs()
		for range b.N {
			c.enqueue(f)
		}
		if got := <-done; got != b.N {
			b.Fatalf("writer took %d frames, want %d", got, b.N)
		}
	})
}

// BenchmarkLiveWrite measures events from the hub to a real HTTP client on
// loopback: queueing, the writer's batching, the write with its deadline and
// the flush.
func BenchmarkLiveWrite(b *testing.B) {
	mb := membroker.New(broker.HistoryConfig{})
	const queue = 1 << 16
	ts := startTestServer(b, mb, Config{QueueSize: queue})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/sse/stream?topic=bench", nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("open stream: %v %v", resp, err)
	}
	read := make(chan int64, 1)
	go func() { // the client: reads until the benchmark closes the body
		n, _ := io.Copy(io.Discard, resp.Body)
		read <- n
	}()
	defer func() {
		resp.Body.Close()
		<-read
	}()
	delivered := func() int { return int(metricValue(ts.metrics.Delivered)) }
	wait := func(atLeast int) {
		deadline := time.Now().Add(30 * time.Second)
		tick := time.NewTicker(50 * time.Microsecond)
		defer tick.Stop()
		for delivered() < atLeast {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d events written within 30s", delivered(), atLeast)
			}
			<-tick.C
		}
	}
	payload := make([]byte, 0, 256)
	accepted := time.Now()
	b.SetBytes(int64(len(benchData)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ts.hub.message("bench", envelope.Append(payload[:0], sid(uint64(i+1)), accepted, "", benchData))
		if i%4096 == 4095 {
			wait(i + 1 - queue/2) // keep the backlog well below the queue size
		}
	}
	wait(b.N)
	b.StopTimer()
	if got := metricValue(ts.metrics.ConnectionsClosed.WithLabelValues(reasonSlow)); got != 0 {
		b.Fatal("the client was evicted")
	}
}
