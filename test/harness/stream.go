package harness

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Event is one dispatched SSE event as EventSource would see it.
type Event struct {
	ID    string // the event's own id field ("" when it had none)
	Name  string // "message" when the frame had no event field
	Data  string
	Retry string // the last retry field seen before this event
}

// Stream is an open SSE connection read by a background goroutine.
type Stream struct {
	Resp      *http.Response
	events    chan Event
	comments  chan string
	positions chan string
	cancel    context.CancelFunc
	done      chan struct{}

	mu     sync.Mutex
	lastID string
	err    error
}

// Open connects to url with extra request headers and returns once the
// response headers arrived. It does not check the status: see Resp.
func Open(t testing.TB, url string, header http.Header) *Stream {
	t.Helper()
	return OpenWith(t, &http.Client{Transport: &http.Transport{DisableCompression: true}}, url, header)
}

// OpenWith is Open through client (TLS, HTTP/2, several streams on one
// connection).
func OpenWith(t testing.TB, client *http.Client, url string, header http.Header) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	// The body is closed by read, the goroutine that owns it (started below).
	resp, err := Checked(t, client).Do(req) //nolint:bodyclose // closed by s.read
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	s := &Stream{Resp: resp, events: make(chan Event, 1<<16), comments: make(chan string, 1024), positions: make(chan string, 64), cancel: cancel, done: make(chan struct{})}
	go s.read()
	t.Cleanup(s.Close)
	return s
}

// Subscribe opens url and fails the test unless it is a 200 event stream.
func Subscribe(t testing.TB, url string, header http.Header) *Stream {
	t.Helper()
	return SubscribeWith(t, &http.Client{Transport: &http.Transport{DisableCompression: true}}, url, header)
}

// SubscribeWith is Subscribe through client.
func SubscribeWith(t testing.TB, client *http.Client, url string, header http.Header) *Stream {
	t.Helper()
	s := OpenWith(t, client, url, header)
	if s.Resp.StatusCode != http.StatusOK || !strings.HasPrefix(s.Resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %s %q", url, s.Resp.Status, s.Resp.Header.Get("Content-Type"))
	}
	return s
}

// Close ends the connection and waits for the reader.
func (s *Stream) Close() {
	s.cancel()
	<-s.done
}

// Done is closed when the server ended the stream (or Close was called).
func (s *Stream) Done() <-chan struct{} { return s.done }

// LastEventID is what a browser would send back in Last-Event-ID.
func (s *Stream) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Next returns the next event, or ErrTimeout, or the read error once the
// stream ended and every event was taken.
func (s *Stream) Next(timeout time.Duration) (Event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ev, ok := <-s.events:
		if ok {
			return ev, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.err == nil {
			return Event{}, context.Canceled
		}
		return Event{}, s.err
	case <-t.C:
		return Event{}, ErrTimeout
	}
}

// MustNext returns the next event or fails the test.
func (s *Stream) MustNext(t testing.TB, timeout time.Duration) Event {
	t.Helper()
	ev, err := s.Next(timeout)
	if err != nil {
		t.Fatalf("waiting for event: %v", err)
	}
	return ev
}

// Comment waits for the next comment line (keepalive) text.
func (s *Stream) Comment(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c := <-s.comments:
		return c, nil
	case <-t.C:
		return "", ErrTimeout
	}
}

// Position waits for the next frame that only sets the last event ID (an
// id line and no data: the position the gateway gives a stream) and
// returns that id.
func (s *Stream) Position(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case id := <-s.positions:
		return id, nil
	case <-t.C:
		return "", ErrTimeout
	}
}

// MustPosition returns the next position frame's id or fails the test.
func (s *Stream) MustPosition(t testing.TB, timeout time.Duration) string {
	t.Helper()
	id, err := s.Position(timeout)
	if err != nil {
		t.Fatalf("waiting for the stream's position: %v", err)
	}
	return id
}

// read parses the stream per WHATWG HTML §9.2.6 (see ReadEvents) until
// it ends or Close cancels it.
func (s *Stream) read() {
	defer close(s.done)
	defer close(s.events)
	defer s.Resp.Body.Close()
	err := ReadEvents(s.Resp.Body, Handler{
		Dispatch: func(lastID string) {
			s.mu.Lock()
			s.lastID = lastID
			s.mu.Unlock()
		},
		Event: func(ev Event) { s.events <- ev },
		Comment: func(c string) {
			select {
			case s.comments <- c:
			default:
			}
		},
		Position: func(id string) {
			select {
			case s.positions <- id:
			default:
			}
		},
	})
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}
