package loadgen

import (
	"bytes"
	"sync/atomic"
)

// Connection states.
const (
	connNew          uint8 = iota // not (yet) connected
	connOpen                      // held: registered with a reader
	connClosed                    // dropped during the run
	connFailed                    // never got a 200 stream
	connReconnecting              // storm: dropped, waiting to reconnect or reconnecting
)

// Reasons a held connection was dropped.
const (
	dropEOF       uint8 = iota + 1 // the server closed the stream
	dropReadErr                    // read error (reset, …)
	dropProtocol                   // malformed chunked coding or SSE
	dropReconnect                  // storm: every reconnection attempt failed
)

var dropNames = map[uint8]string{dropEOF: "eof", dropReadErr: "read_error", dropProtocol: "protocol_error",
	dropReconnect: "reconnect_failed"}

// topicState is a connection's bookkeeping for one of its topics.
type topicState struct {
	index   int32  // k in TopicPrefix+k
	baseAcc uint64 // accepted publishes on the topic when the connection was held
	endAcc  uint64 // accepted publishes when it closed (or when the run ended)
	seqBase int64  // next seq to be assigned on the topic when held
	maxSeq  int64  // highest seq seen (seqBase-1 before any)
	window  uint64 // bit j set: seq maxSeq-j has been seen
	unique  uint64 // distinct seqs seen
	idMs    uint64 // last id component for this topic
	idSeq   uint64
}

// observe records seq and classifies it.
func (t *topicState) observe(seq int64) seqResult {
	if seq > t.maxSeq {
		d := seq - t.maxSeq
		if d >= 64 {
			t.window = 0
		} else {
			t.window <<= uint(d)
		}
		t.window |= 1
		t.maxSeq = seq
		t.unique++
		return seqNew
	}
	j := t.maxSeq - seq
	if j >= 64 {
		// Too old for the window: assume it is new but late.
		t.unique++
		return seqLate
	}
	if t.window&(1<<uint(j)) != 0 {
		return seqDup
	}
	t.window |= 1 << uint(j)
	t.unique++
	return seqReordered
}

// seqGaps is the number of seqs in [seqBase, maxSeq] never seen.
func (t *topicState) seqGaps() uint64 {
	span := t.maxSeq - t.seqBase + 1
	if span <= 0 || uint64(span) <= t.unique {
		return 0
	}
	return uint64(span) - t.unique
}

type seqResult uint8

const (
	seqNew seqResult = iota
	seqReordered
	seqLate
	seqDup
)

// conn is the whole per-connection state: it lives in one preallocated
// slice, owned by the connect worker until ready is set and by one reader
// goroutine afterwards (then by Run once the readers have stopped).
type conn struct {
	ready       atomic.Bool
	state       uint8
	dropReason  uint8
	hasID       bool
	fd          int32
	body        bodyDecoder
	parser      Parser
	topics      []topicState // sorted by topic name, the order of multi-topic ids
	delivered   uint32       // bench events received, duplicates included
	dups        uint32
	reordered   uint32
	late        uint32
	idViolation uint32
	other       uint32 // events that are not bench events (reset, shutdown, …)
	retryMs     uint32 // the last `retry:` hint: EventSource's reconnection time

	// Reconnect storm (ModeStorm) bookkeeping, unix ns, 0 for "not yet".
	dropAt      int64 // the stream to the killed gateway ended
	reconnectAt int64 // the successful reconnection attempt started
	dueAt       int64 // when that attempt was due (its reconnection delay ended)
	resumedAt   int64 // the first event or position frame on the new stream
	attempts    uint8 // reconnection attempts so far
	awaiting    bool  // reconnected, not yet resumed
}

// topic returns the state of topic index k, or nil.
func (c *conn) topic(k int64) *topicState {
	for i := range c.topics {
		if int64(c.topics[i].index) == k {
			return &c.topics[i]
		}
	}
	return nil
}

// counters are one goroutine's running totals, readable concurrently by the
// progress reporter.
type counters struct {
	latency *Histogram
	// stormLatency: events on a reconnected stream that were published
	// after its reconnection started (live, not replayed).
	stormLatency *Histogram
	resumed      atomic.Int64  // connections that resumed after a reconnect
	events       atomic.Uint64 // bench events, duplicates included
	unique       atomic.Uint64
	pings        atomic.Uint64
	other        atomic.Uint64
}

func newCounters() *counters { return &counters{latency: NewHistogram(), stormLatency: NewHistogram()} }

// sink is the Parser Handler of one goroutine: it applies events to the
// connection currently being read.
type sink struct {
	st         *counters
	c          *conn
	now        int64 // time of the read, unix ns
	recordFrom int64 // latency is recorded for events sent at or after this
}

var _ Handler = (*sink)(nil)

// HandleEvent implements Handler.
func (s *sink) HandleEvent(ev Event) {
	c := s.c
	if c.awaiting {
		s.resumed()
	}
	if ev.HasID {
		s.checkID(ev.ID)
	}
	seq, ok1 := jsonUint(ev.Data, `"seq"`)
	k, ok2 := jsonUint(ev.Data, `"topic_index"`)
	sent, ok3 := jsonUint(ev.Data, `"sent_unix_nano"`)
	var t *topicState
	if ok1 && ok2 && ok3 {
		t = c.topic(k)
	}
	if t == nil {
		c.other++
		s.st.other.Add(1)
		return
	}
	c.delivered++
	s.st.events.Add(1)
	switch t.observe(seq) {
	case seqDup:
		c.dups++
		return
	case seqReordered:
		c.reordered++
	case seqLate:
		c.late++
	}
	s.st.unique.Add(1)
	switch {
	case sent < s.recordFrom:
	case c.reconnectAt == 0:
		s.st.latency.Record(s.now - sent)
	case sent >= c.reconnectAt:
		s.st.stormLatency.Record(s.now - sent)
	}
}

// resumed marks the connection as resumed on its new stream: the first
// event or position frame after a reconnection arrived.
func (s *sink) resumed() {
	s.c.awaiting = false
	if s.c.resumedAt == 0 { // not again after a failed later attempt
		s.c.resumedAt = s.now
		s.st.resumed.Add(1)
	}
}

// HandlePosition implements Handler: a position frame also counts as
// having resumed.
func (s *sink) HandlePosition([]byte) {
	if s.c.awaiting {
		s.resumed()
	}
}

// HandleComment implements Handler.
func (s *sink) HandleComment(text []byte) {
	if string(text) == "ping" {
		s.st.pings.Add(1)
	}
}

// HandleRetry implements Handler.
func (s *sink) HandleRetry(ms int64) { s.c.retryMs = uint32(min(ms, 1<<31)) }

// checkID verifies that an event id is strictly greater than the previous
// one. Single-topic ids are "<ms>-<seq>"; multi-topic ids join one such pair
// per topic, in sorted topic order, with "_" (docs/CONTRACT.md): every
// component must not go back and at least one must advance.
func (s *sink) checkID(id []byte) {
	c := s.c
	n := len(c.topics)
	var ms, sq [64]uint64
	parts := 0
	for rest := id; ; {
		part := rest
		i := bytes.IndexByte(rest, '_')
		if i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		}
		if parts == n {
			c.idViolation++
			return
		}
		a, b, ok := parseStreamID(part)
		if !ok {
			c.idViolation++
			return
		}
		ms[parts], sq[parts] = a, b
		parts++
		if i < 0 {
			break
		}
	}
	if parts != n {
		c.idViolation++
		return
	}
	if c.hasID {
		advanced := false
		for j := 0; j < n; j++ {
			t := &c.topics[j]
			switch {
			case ms[j] < t.idMs || ms[j] == t.idMs && sq[j] < t.idSeq:
				c.idViolation++
				return
			case ms[j] > t.idMs || sq[j] > t.idSeq:
				advanced = true
			}
		}
		if !advanced {
			c.idViolation++
			return
		}
	}
	c.hasID = true
	for j := 0; j < n; j++ {
		c.topics[j].idMs, c.topics[j].idSeq = ms[j], sq[j]
	}
}

// parseStreamID parses a Redis stream id "<ms>-<seq>".
func parseStreamID(b []byte) (ms, seq uint64, ok bool) {
	i := bytes.IndexByte(b, '-')
	if i < 0 {
		return 0, 0, false
	}
	a, ok1 := parseDigits(b[:i])
	c, ok2 := parseDigits(b[i+1:])
	return uint64(a), uint64(c), ok1 && ok2
}

// jsonUint finds `key` (a quoted JSON name) followed by ':' and an unsigned
// integer in data, without decoding the JSON (no allocation). Occurrences
// not followed by a number (a string value, or the name inside a string)
// are skipped.
func jsonUint(data []byte, key string) (int64, bool) {
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], []byte(key))
		if i < 0 {
			return 0, false
		}
		j := off + i + len(key)
		off += i + 1
		j = skipSpace(data, j)
		if j >= len(data) || data[j] != ':' {
			continue
		}
		j = skipSpace(data, j+1)
		e := j
		for e < len(data) && data[e] >= '0' && data[e] <= '9' {
			e++
		}
		if v, ok := parseDigits(data[j:e]); ok {
			return v, true
		}
	}
	return 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
