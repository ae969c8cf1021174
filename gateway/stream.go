package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/streamid"
)

// flushAt is how much replayed data is buffered before it is written.
const flushAt = 32 << 10

// stream serves GET /api/sse/stream, in steps that each do one thing and
// hand what they hold to the next as their result: admitStream refuses the
// request or admits it; subscribe turns the admission into a conn in the
// hub, whose finish gives everything back; openWriter starts the response
// on its write path; run resumes the client and serves it live. run's
// result says who ends the stream: this handler, or the pool it was
// handed to.
func (s *Server) stream(c echo.Context) error {
	adm, err := s.admitStream(c)
	if err != nil {
		return err
	}
	ss, err := s.subscribe(c.Request().Context(), adm)
	if errors.Is(err, errClientLeft) {
		return nil // nothing to answer or count
	}
	if err != nil {
		return err
	}
	w := s.openWriter(c, ss)
	defer endOnPanic(w, ss.cn)
	reason, handed := s.run(c, w, ss)
	if !handed {
		w.close()
		ss.cn.finish(reason)
	}
	return nil
}

// admission is a stream request the gateway accepted: its topics, its
// credential's expiry, and its place under the connection limits, which
// release gives back.
type admission struct {
	topics  []string
	state   bool // the state goes first (stream_state.go)
	expires time.Time
	release func()
}

// admitStream validates the request, authorizes it and admits it under
// the connection limits. It returns the refusal, or an admission that the
// caller must pass to subscribe.
func (s *Server) admitStream(c echo.Context) (admission, error) {
	if s.draining.Load() {
		return admission{}, httperr.Unavailable("draining", "the gateway is shutting down; reconnect", s.cfg.Retry)
	}
	topics, state, err := s.streamTopics(c.Request())
	if err != nil {
		return admission{}, err
	}
	auth, err := s.authorize(c, topics)
	if err != nil {
		return admission{}, err
	}
	if !s.broker.HealthyFor(topics) {
		return admission{}, errBrokerDown(s.cfg.Retry)
	}
	release, err := s.admit(c)
	if err != nil {
		return admission{}, err
	}
	return admission{topics: topics, state: state, expires: auth.expires, release: release}, nil
}

// errBrokerDown is the refusal when the broker cannot serve the topics.
func errBrokerDown(retry time.Duration) error {
	return httperr.Unavailable("redis_unavailable", "the event broker is unavailable; retry later", retry)
}

// errClientLeft is subscribe's answer when the client left while its
// topics were being subscribed.
var errClientLeft = errors.New("client left before its stream started")

// session is an admitted stream that joined the hub.
type session struct {
	cn    *conn
	snap  []streamid.ID // the hub's last id in each topic when cn joined: the replay's end
	state bool          // the client gets the state first (stream_state.go)
	log   *slog.Logger
}

// subscribe subscribes the admission's topics and joins a new conn to the
// hub. The admission passes to the conn: its finish releases it, with the
// topics and the hub membership. On failure the admission is released
// here, and the error is the answer (errClientLeft: none).
func (s *Server) subscribe(ctx context.Context, adm admission) (session, error) {
	if err := s.feed.acquire(ctx, adm.topics); err != nil {
		adm.release()
		if ctx.Err() != nil {
			return session{}, errClientLeft
		}
		return session{}, s.acquireError(adm.topics, err)
	}
	cn := newConn(s.nextID(), adm.topics, s.cfg.QueueSize, func(n int) { s.metrics.QueueDropped.Add(float64(n)) })
	cn.expires = adm.expires
	ss := session{cn: cn, snap: s.hub.join(cn), state: adm.state, log: s.log.With("conn", cn.id)}
	s.metrics.ConnectionsOpened.Inc()
	s.metrics.Connections.Inc()
	cn.onFinish = s.finisher(ss, adm.release)
	return ss, nil
}

// finisher returns what ends ss's conn once, whichever path ends it: it
// counts why and gives back the hub membership, the topics and the
// admission.
func (s *Server) finisher(ss session, release func()) func(reason string) {
	cn, log := ss.cn, ss.log
	return func(reason string) {
		// Counted before the gauge drops: whoever sees the stream gone
		// also sees why.
		if evicted, ok := map[string]string{reasonSlow: "queue_full", reasonSendTimeout: "send_timeout"}[reason]; ok {
			s.metrics.Evicted.WithLabelValues(evicted).Inc()
			log.Info("client evicted", "reason", reason)
		}
		s.metrics.ConnectionsClosed.WithLabelValues(reason).Inc()
		s.metrics.Connections.Dec()
		log.Debug("stream closed", "reason", reason)
		s.hub.leave(cn)
		s.feed.release(cn.topics)
		release()
	}
}

// openWriter starts ss's response on its write path: the pool for plain
// HTTP/1.1 when there is one and the connection can be hijacked (the pool
// writes straight to the socket: never a TLS connection), net/http
// otherwise.
func (s *Server) openWriter(c echo.Context, ss session) writer {
	r := c.Request()
	h := c.Response().Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	var nc net.Conn
	if s.pool != nil && r.ProtoMajor == 1 && r.ProtoMinor == 1 && r.TLS == nil {
		nc = s.hijack(c)
	}
	ss.log.Debug("stream opened", "topics", ss.cn.topics, "last_event_id", truncate(lastEventID(c)), "pooled", nc != nil)
	if nc != nil {
		return s.pool.writer(newChunkWriter(nc, ss.cn, s.cfg.SendTimeout, responseHead(h)), ss.log)
	}
	return newHTTPWriter(s, c.Response(), ss.cn)
}

// run sends the preamble, resumes the client from its last event ID (or
// sends the state, stream_state.go) and serves it live. It returns why the stream ended; or handed true when the
// pool now writes it and will end it.
func (s *Server) run(c echo.Context, w writer, ss session) (reason string, handed bool) {
	buf := sse.AppendRetry(make([]byte, 0, 4096), s.streamRetry())
	buf = sse.AppendComment(buf, "ok")
	ctx := c.Request().Context()
	pos, buf, err := s.start(ctx, w, buf, ss, lastEventID(c))
	if err != nil {
		if !errors.Is(err, errClient) {
			ss.log.Warn("resume failed", "err", err)
			return reasonError, false // history could not be read: the client retries by id
		}
		return ss.cn.writeReason(err), false
	}
	copy(ss.cn.pos, pos)
	return w.serve(ctx, ss.cn, buf)
}

// endOnPanic ends a stream whose handler panicked (Recover answers it):
// a panic comes before any handoff, so the handler still owns the stream.
func endOnPanic(w writer, cn *conn) {
	if p := recover(); p != nil {
		w.close()
		cn.finish(reasonError)
		panic(p)
	}
}

func lastEventID(c echo.Context) string {
	if v := c.Request().Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	if v := c.QueryParam("lastEventId"); v != "" {
		return v
	}
	return c.QueryParam("last_event_id")
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
