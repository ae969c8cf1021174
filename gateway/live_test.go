package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// TestLiveDrainWinsOverCancelledRequest: Drain asks a stream for its
// shutdown event, and the HTTP server cancels the request context right
// after. When the writer wakes up to both, it must still send the event
// (select would otherwise pick one of the two at random).
func TestLiveDrainWinsOverCancelledRequest(t *testing.T) {
	t.Parallel()
	s := New(membroker.New(broker.HistoryConfig{}), Config{Retry: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 32 { // a random choice would fail one of these
		rec := httptest.NewRecorder()
		cn := newConn("c", []string{"t"}, 4, func(int) {})
		cn.drain()
		w := &httpWriter{rc: http.NewResponseController(rec), w: rec, timeout: time.Second, last: &cn.lastWrite}
		reason := s.live(ctx, w, cn, positions{streamid.Zero}, nil)
		if reason != reasonShutdown || !strings.HasSuffix(rec.Body.String(), "retry: 1000\nevent: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n") {
			t.Fatalf("round %d: reason %q, body %q; want the shutdown event", i, reason, rec.Body.String())
		}
	}
}

// TestLiveCancelledRequestEndsNormally: a client that went away ends the
// stream without anything written.
func TestLiveCancelledRequestEndsNormally(t *testing.T) {
	t.Parallel()
	s := New(membroker.New(broker.HistoryConfig{}), Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	cn := newConn("c", []string{"t"}, 4, func(int) {})
	w := &httpWriter{rc: http.NewResponseController(rec), w: rec, timeout: time.Second, last: &cn.lastWrite}
	if reason := s.live(ctx, w, cn, positions{streamid.Zero}, nil); reason != reasonNormal || rec.Body.Len() != 0 {
		t.Fatalf("reason %q, body %q", reason, rec.Body.String())
	}
}

// TestLiveQueueOverflowWinsOverCancelledRequest: the write a queue
// overflow aborts can make net/http cancel the request before the writer
// looks at its queue; the stream still ends as slow, not as normal.
func TestLiveQueueOverflowWinsOverCancelledRequest(t *testing.T) {
	t.Parallel()
	s := New(membroker.New(broker.HistoryConfig{}), Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 32 { // a random choice would fail one of these
		rec := httptest.NewRecorder()
		cn := newConn("c", []string{"t"}, 1, func(int) {})
		cn.enqueue(newFrame("t", streamid.ID{Ms: 1}, true, "", []byte("x"), time.Time{}))
		cn.enqueue(newFrame("t", streamid.ID{Ms: 2}, true, "", []byte("x"), time.Time{}))
		w := &httpWriter{rc: http.NewResponseController(rec), w: rec, timeout: time.Second, last: &cn.lastWrite}
		if reason := s.live(ctx, w, cn, positions{streamid.Zero}, nil); reason != reasonSlow {
			t.Fatalf("round %d: reason %q, want %q", i, reason, reasonSlow)
		}
	}
}
