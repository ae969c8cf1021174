package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// Pacing: every pacerTick the pacer hands the events that have become due to
// the publisher goroutines in batches of at most maxBatch, so high rates
// need neither a timer nor a channel send per event.
const (
	pacerTick     = time.Millisecond
	maxBatch      = 64
	publishTimout = 10 * time.Second
	// queueSeconds is how much publishing may queue up behind slow
	// publishers; beyond that due events are counted as not sent.
	queueSeconds = 0.1
)

// queueSlots returns the job queue capacity for rate: about queueSeconds of
// events, in batches.
func queueSlots(rate float64) int {
	n := int(rate*queueSeconds/maxBatch) + 1
	return max(256, min(n, 4096))
}

// reasonCounter counts errors by a short reason, keeping at most 32 distinct
// reasons (the rest are counted as "other").
type reasonCounter struct {
	mu sync.Mutex
	m  map[string]int64
}

func (rc *reasonCounter) add(reason string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil {
		rc.m = make(map[string]int64)
	}
	if _, ok := rc.m[reason]; !ok && len(rc.m) >= 32 {
		reason = "other"
	}
	rc.m[reason]++
}

func (rc *reasonCounter) snapshot() map[string]int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int64, len(rc.m))
	for k, v := range rc.m {
		out[k] = v
	}
	return out
}

// publisher sends benchmark events through the HTTP publisher or Redis.
type publisher struct {
	r         *run
	url       string
	token     string
	eventType []byte // JSON string, or nil
	topicJSON [][]byte
	pad       string
	client    *http.Client
	transport *http.Transport
	redis     rueidis.Client

	stopped   atomic.Bool // pacing is over: queued jobs are not sent
	nextN     atomic.Uint64
	attempted atomic.Uint64
	ok        atomic.Uint64
	failed    atomic.Uint64
	notSent   atomic.Uint64 // due but dropped: the publishers were behind
	errs      reasonCounter
	latency   *Histogram // request round trip
}

func newPublisher(r *run) (*publisher, error) {
	cfg := &r.cfg
	p := &publisher{r: r, url: cfg.PublishURL, token: cfg.PublishToken, latency: NewHistogram()}
	for _, name := range r.topicNames {
		b, err := json.Marshal(name)
		if err != nil {
			return nil, fmt.Errorf("topic %q: %w", name, err)
		}
		p.topicJSON = append(p.topicJSON, b)
	}
	if cfg.EventType != "" {
		b, err := json.Marshal(cfg.EventType)
		if err != nil {
			return nil, fmt.Errorf("event type: %w", err)
		}
		p.eventType = b
	}
	// Pad the data JSON to about PayloadBytes: measure a typical event.
	probe := appendData(nil, 1<<20, int64(len(r.topicNames)-1), time.Now().UnixNano(), "")
	if n := cfg.PayloadBytes - len(probe); n > 0 {
		p.pad = strings.Repeat("x", n)
	}
	if cfg.RedisAddr != "" {
		c, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress:  []string{cfg.RedisAddr},
			DisableCache: true,
		})
		if err != nil {
			return nil, fmt.Errorf("redis %s: %w", cfg.RedisAddr, err)
		}
		p.redis = c
		return p, nil
	}
	p.transport = &http.Transport{
		MaxIdleConns:        cfg.Publishers,
		MaxIdleConnsPerHost: cfg.Publishers,
		MaxConnsPerHost:     cfg.Publishers,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	p.client = &http.Client{Transport: p.transport, Timeout: publishTimout}
	return p, nil
}

// close releases the HTTP keep-alive connections or the Redis client.
func (p *publisher) close() {
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
	if p.redis != nil {
		p.redis.Close()
	}
}

// appendData appends the event data: {"seq":n,"topic_index":k,
// "sent_unix_nano":t,"pad":"…"}.
func appendData(b []byte, seq, k, sent int64, pad string) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"topic_index":`...)
	b = strconv.AppendInt(b, k, 10)
	b = append(b, `,"sent_unix_nano":`...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, `,"pad":"`...)
	b = append(b, pad...)
	return append(b, `"}`...)
}

// next claims the next event: its topic (round-robin) and per-topic seq.
func (p *publisher) next() (k int, seq int64) {
	n := p.nextN.Add(1) - 1
	k = int(n % uint64(len(p.r.topicNames)))
	return k, p.r.seqNext[k].Add(1) - 1
}

// dueBy returns how many events of a phase of length d at rate per second
// are due after elapsed: event k (from 0) is due at k/rate, so the first
// goes at once and the last, floor(rate·d)-1, a whole interval before the
// end. Scheduling event k at (k+1)/rate instead would hand the last one to
// the queue at the very end of the phase, where pace's caller stops the
// publishers and counts it as not sent on every run, however idle.
func dueBy(rate float64, elapsed, d time.Duration) int64 {
	total := int64(rate * d.Seconds())
	return min(int64(rate*elapsed.Seconds())+1, total)
}

// pace hands due events to jobs at Rate for d, never blocking: when the
// queue is full the events are counted as not sent. It returns when d has
// passed or ctx is done.
func (p *publisher) pace(ctx context.Context, d time.Duration, jobs chan<- int) {
	rate := p.r.cfg.Rate
	start := time.Now()
	tick := time.NewTicker(pacerTick)
	defer tick.Stop()
	var sent int64
	for {
		elapsed := time.Since(start)
		last := elapsed >= d
		if last {
			elapsed = d
		}
		due := dueBy(rate, elapsed, d) - sent
		for due > 0 {
			b := min(due, maxBatch)
			select {
			case jobs <- int(b):
			default:
				p.notSent.Add(uint64(b))
			}
			sent += b
			due -= b
		}
		if last {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// work publishes batches from jobs until jobs is closed.
func (p *publisher) work(ctx context.Context, jobs <-chan int) {
	var buf []byte
	var cmds rueidis.Commands
	var ks []int
	for n := range jobs {
		if ctx.Err() != nil || p.stopped.Load() {
			p.notSent.Add(uint64(n))
			continue
		}
		if p.redis != nil {
			cmds, ks = p.publishRedis(ctx, n, cmds[:0], ks[:0])
			continue
		}
		for i := range n {
			if p.stopped.Load() {
				p.notSent.Add(uint64(n - i))
				break
			}
			buf = p.publishHTTP(ctx, buf[:0])
		}
	}
}

// publishHTTP sends one event to POST /v1/events.
func (p *publisher) publishHTTP(ctx context.Context, buf []byte) []byte {
	k, seq := p.next()
	buf = append(buf, `{"topic":`...)
	buf = append(buf, p.topicJSON[k]...)
	if p.eventType != nil {
		buf = append(buf, `,"type":`...)
		buf = append(buf, p.eventType...)
	}
	buf = append(buf, `,"data":`...)
	start := time.Now()
	buf = appendData(buf, seq, int64(k), start.UnixNano(), p.pad)
	buf = append(buf, '}')
	// The transport may still read the body after Do returns; give it its
	// own copy.
	body := bytes.Clone(buf)
	p.attempted.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		p.fail("request")
		return buf
	}
	req.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			p.fail("cancelled")
		} else {
			p.fail(shortErr(err))
		}
		return buf
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	p.latency.RecordDuration(time.Since(start))
	if resp.StatusCode/100 != 2 {
		p.fail("http_" + strconv.Itoa(resp.StatusCode))
		return buf
	}
	p.ok.Add(1)
	p.r.accepted[k].Add(1)
	return buf
}

// publishRedis sends n events with raw PUBLISH in one pipeline.
func (p *publisher) publishRedis(ctx context.Context, n int, cmds rueidis.Commands, ks []int) (rueidis.Commands, []int) {
	now := time.Now()
	for range n {
		k, seq := p.next()
		data := appendData(nil, seq, int64(k), time.Now().UnixNano(), p.pad)
		cmds = append(cmds, p.redis.B().Publish().Channel(p.r.topicNames[k]).Message(rueidis.BinaryString(data)).Build())
		ks = append(ks, k)
	}
	p.attempted.Add(uint64(n))
	for i, res := range p.redis.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			if ctx.Err() != nil {
				p.fail("cancelled")
			} else {
				p.fail("redis: " + shortErr(err))
			}
			continue
		}
		p.ok.Add(1)
		p.r.accepted[ks[i]].Add(1)
	}
	p.latency.RecordDuration(time.Since(now))
	return cmds, ks
}

func (p *publisher) fail(reason string) {
	p.failed.Add(1)
	p.errs.add(reason)
}

// shortErr reduces an error to a countable reason (no addresses or ports).
func shortErr(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
