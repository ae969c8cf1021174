package loadgen

import (
	"testing"
	"time"
)

func TestShareReached(t *testing.T) {
	t.Parallel()
	ms := func(v ...int64) []int64 {
		for i := range v {
			v[i] *= int64(time.Millisecond)
		}
		return v
	}
	tests := []struct {
		times []int64
		n     int64
		share float64
		want  float64
	}{
		{ms(300, 100, 200), 3, 1, 0.3},
		{ms(300, 100, 200), 3, 0.99, 0.3},
		{ms(300, 100, 200), 4, 1, -1},
		{ms(300, 100, 200), 4, 0.5, 0.2},
		{nil, 0, 1, -1},
	}
	for _, tc := range tests {
		if got := shareReached(tc.times, tc.n, tc.share); got != tc.want {
			t.Errorf("shareReached(%v, %d, %v) = %v, want %v", tc.times, tc.n, tc.share, got, tc.want)
		}
	}
}

// TestReconnectDelay: the gateway's retry: hint or a fixed delay, and
// jitter within [d·(1−j), d].
func TestReconnectDelay(t *testing.T) {
	t.Parallel()
	c := &conn{retryMs: 2000}
	s := &stormRun{cfg: StormConfig{ReconnectDelay: ReconnectFromRetry}}
	if d := s.delay(c); d != 2*time.Second {
		t.Fatalf("from retry: %v", d)
	}
	s.cfg = StormConfig{ReconnectDelay: time.Second, ReconnectJitter: 0.5}
	spread := false
	for range 200 {
		d := s.delay(c)
		if d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("jittered delay %v outside [0.5s, 1s]", d)
		}
		spread = spread || d < 900*time.Millisecond
	}
	if !spread {
		t.Fatal("200 jittered delays all within 10% of the delay")
	}
}

// TestReconnectQueue: connections come out in due order, none before its
// time, and run ends (closing ready) when stopped.
func TestReconnectQueue(t *testing.T) {
	t.Parallel()
	q := newReconnectQueue()
	ready := make(chan int, 3)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.run(stop, ready)
	}()
	now := time.Now()
	q.push(2, now.Add(60*time.Millisecond))
	q.push(0, now)
	q.push(1, now.Add(30*time.Millisecond))
	for want := range 3 {
		select {
		case got := <-ready:
			if got != want {
				t.Fatalf("got %d, want %d", got, want)
			}
			if early := time.Duration(want) * 30 * time.Millisecond; time.Since(now) < early {
				t.Fatalf("%d came %v after the start, before its time", got, time.Since(now))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("connection %d never came", want)
		}
	}
	q.push(3, now.Add(time.Hour))
	close(stop)
	<-done
	if _, ok := <-ready; ok || q.len() != 1 {
		t.Fatalf("after stop: ready open %v, %d queued", ok, q.len())
	}
}
