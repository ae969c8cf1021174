package client

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// stream is one open connection of a Subscription.
type stream struct {
	body   io.ReadCloser
	dec    *decoder
	cancel context.CancelFunc // ends the request: unblocks a read
}

// connect opens the stream, resuming from s.lastID. The request lives on
// its own context, not ctx, so that it outlives this call; ctx only bounds
// the connecting, and read ties each later read to its caller's ctx.
func (s *Subscription) connect(ctx context.Context) error {
	reqCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, s.url, nil)
	if err != nil {
		cancel()
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	if s.cfg.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.token)
	}
	resp, err := s.cfg.httpClient.Do(req)
	if err != nil {
		cancel()
		return err
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		return readAPIError(resp)
	}
	if err := checkEventStream(resp); err != nil {
		resp.Body.Close()
		cancel()
		return err
	}
	s.conn = &stream{body: resp.Body, dec: newDecoder(resp.Body, s.lastID), cancel: cancel}
	return nil
}

// read returns the next event of the open stream, or the error that ended
// it. ctx ending cancels the request, which ends the stream.
func (s *Subscription) read(ctx context.Context) (Message, error) {
	stop := context.AfterFunc(ctx, s.conn.cancel)
	defer stop()
	f, err := s.conn.dec.next()
	s.lastID = s.conn.dec.lastID
	if s.conn.dec.retry > 0 {
		s.retry = s.conn.dec.retry
	}
	if err != nil {
		return Message{}, err
	}
	m := Message{Type: f.typ, Data: f.data}
	if f.hasID {
		m.ID = f.id
	}
	m.Topic = s.topicOf(f.prev, m.ID)
	return m, nil
}

// topicOf names the topic of an event with id that followed position
// before: the only topic of a single-topic stream, else the one topic whose
// position differs (multi-topic ids list positions in s.topics' order).
func (s *Subscription) topicOf(before, id string) string {
	if len(s.topics) == 1 {
		return s.topics[0]
	}
	if id == "" {
		return ""
	}
	old, now := strings.Split(before, "_"), strings.Split(id, "_")
	if len(now) != len(s.topics) {
		return ""
	}
	topic := ""
	for i := range now {
		if len(old) == len(now) && old[i] == now[i] {
			continue
		}
		if topic != "" {
			return "" // several moved: a reset
		}
		topic = s.topics[i]
	}
	return topic
}

// drop closes the open stream, if any.
func (s *Subscription) drop() {
	if s.conn == nil {
		return
	}
	s.conn.cancel()
	_ = s.conn.body.Close()
	s.conn = nil
}
