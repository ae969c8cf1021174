// Package redisbroker is ssegate's Redis broker: topic history in Redis
// Streams, live delivery over pub/sub, and the single subscription connection
// a gateway process holds.
//
// Layout (one place knows it): a topic T is the pub/sub channel T; its
// history is the stream "ssegate:{T}:history", its idempotency keys are
// "ssegate:{T}:idem:<key>" and its keyed state is the hash
// "ssegate:{T}:state" with the sorted set "ssegate:{T}:state:age" (state.go).
// The hash tag {T} puts them all in the slot of
// the channel name, so in a Redis Cluster the publish script runs on one
// shard and, with sharded pub/sub, SPUBLISH goes to that same shard.
//
// Subscription (subscriber.go): the topology of the deployment (single
// server or Sentinel, classic or sharded pub/sub on a cluster) routes each
// wanted topic to a session, one connection to one node; a supervisor
// goroutine starts and stops the sessions; each topic's subscription is a
// topicState with pure transitions.
//
// Lock order: Broker.mu, then subscriber.mu. attach takes the subscriber's
// mutex while holding the broker's; nothing takes Broker.mu while holding
// subscriber.mu, which is the innermost lock: it is held only for
// bookkeeping, never across a Redis call, a blocking channel operation, a
// goroutine's end or a call into the sink. The pub/sub hooks take it on a
// connection's reader goroutine, which any Redis reply on that connection
// waits for, and the sink takes the gateway's own locks.
package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// Options configures a Broker.
type Options struct {
	// URL is a redis:// or rediss:// URL; extra seed addresses go in repeated
	// "addr" query parameters (rueidis convention). A cluster is detected.
	URL string
	// SentinelMaster, when set, makes the URL's addresses Sentinels
	// monitoring this master set.
	SentinelMaster string
	// Sharded selects SSUBSCRIBE/SPUBLISH (Redis 7 sharded pub/sub).
	Sharded bool
	// Security adds credentials from a file and TLS files to the URL.
	Security Security
	// Access is what the service does, for the permission check at start.
	Access  Access
	History broker.HistoryConfig
	Logger  *slog.Logger
}

// StreamKey is the history stream of topic.
func StreamKey(topic string) string { return "ssegate:{" + topic + "}:history" }

// IdempotencyKey is where the result of a keyed publish is remembered.
func IdempotencyKey(topic, key string) string { return "ssegate:{" + topic + "}:idem:" + key }

// StateKey is the hash of topic's keyed state: key → the envelope of the
// key's latest event (envelope.Append, with its ID).
func StateKey(topic string) string { return "ssegate:{" + topic + "}:state" }

// StateAgeKey is the sorted set of topic's state keys scored by their latest
// event's millisecond, for pruning by age.
func StateAgeKey(topic string) string { return "ssegate:{" + topic + "}:state:age" }

// exec runs script with keys and args on the command client.
func (b *Broker) exec(ctx context.Context, script *rueidis.Lua, keys, args []string) ([]rueidis.RedisMessage, error) {
	cmd, err := b.cmd()
	if err != nil {
		return nil, err
	}
	reply, err := script.Exec(ctx, cmd, keys, args).ToArray()
	if err != nil {
		return nil, b.faults.failed("script", err)
	}
	b.faults.succeeded()
	return reply, nil
}

// Ping checks that commands reach Redis (readiness). While a configuration
// fault is remembered (Fault) it returns that fault, whether PING works
// (the commands ssegate needs are refused) or not.
func (b *Broker) Ping(ctx context.Context) error {
	cmd, err := b.cmd()
	if err != nil {
		return err
	}
	err = cmd.Do(ctx, cmd.B().Ping().Build()).Error()
	if err != nil {
		err = b.faults.failed("ping", err)
	}
	if fault := b.Fault(); fault != nil {
		return fault // the more precise answer: not ready either way
	}
	return err
}

// OnError makes fn be called with the class of every failed command
// (publish, history read, readiness ping) from now on: the services count
// it in ssegate_<service>_redis_errors_total{class}. Their metrics are made
// after the broker, hence a setter; it is safe for concurrent use.
func (b *Broker) OnError(fn func(broker.Class)) { b.faults.observe.Store(&fn) }

// Fault returns the last configuration fault (NOPERM, WRONGPASS, NOSCRIPT:
// it wraps broker.ErrMisconfigured) until a later command succeeds or
// faultHold passes, else nil. Readiness fails while it is set.
func (b *Broker) Fault() error { return b.faults.current() }

// Publish appends req to its topic's history and publishes it.
func (b *Broker) Publish(ctx context.Context, req broker.PublishRequest) (broker.PublishResult, error) {
	ttl := "0"
	idemKey := StreamKey(req.Topic) // any key in the slot; unused without a TTL
	if req.IdempotencyKey != "" {
		idemTTL := b.hist.IdempotencyTTL
		if idemTTL <= 0 {
			idemTTL = broker.DefaultHistory().IdempotencyTTL
		}
		ttl = strconv.FormatInt(int64((idemTTL+time.Second-1)/time.Second), 10)
		idemKey = IdempotencyKey(req.Topic, req.IdempotencyKey)
	}
	maxAge := ""
	if b.hist.MaxAge > 0 {
		maxAge = strconv.FormatInt(max(b.hist.MaxAge.Milliseconds(), 1), 10)
	}
	sharded := "0"
	if b.sharded {
		sharded = "1"
	}
	args := []string{
		req.Topic, req.Event, strconv.FormatInt(req.AcceptedAt.UnixMicro(), 10), string(req.Data),
		strconv.FormatInt(b.hist.MaxLen, 10), maxAge, sharded, ttl, req.Fingerprint,
	}
	args = append(args, b.stateArgs(req)...)
	keys := []string{StreamKey(req.Topic), idemKey, StateKey(req.Topic), StateAgeKey(req.Topic)}
	reply, err := b.exec(ctx, b.publish, keys, args)
	if err != nil && req.IdempotencyKey != "" && broker.ClassOf(err) == broker.ClassConnection && ctx.Err() == nil {
		// A connection found dead on this call (Redis restarted since its
		// last use) fails the first command sent on it, and rueidis
		// reconnects. Whether the script ran before the loss is unknown,
		// so only a request with an idempotency key is sent once more: a
		// script that did run answers the retry as a replay.
		reply, err = b.exec(ctx, b.publish, keys, args)
	}
	if err != nil {
		return broker.PublishResult{}, err
	}
	if len(reply) < 2 {
		return broker.PublishResult{}, fmt.Errorf("publish script: unexpected reply of %d elements", len(reply))
	}
	switch kind, _ := reply[0].ToString(); kind {
	case "replay":
		prev, _ := reply[1].ToString()
		return parseReplay(prev, req.Fingerprint)
	}
	idText, _ := reply[1].ToString()
	id, err := streamid.Parse(idText)
	if err != nil {
		return broker.PublishResult{}, fmt.Errorf("publish script returned id %q: %w", idText, err)
	}
	var n int64
	if len(reply) > 2 {
		n, _ = reply[2].AsInt64()
	}
	return broker.PublishResult{ID: id, Receivers: n}, nil
}

func parseReplay(prev, fingerprint string) (broker.PublishResult, error) {
	fields := strings.SplitN(prev, " ", 3)
	if len(fields) != 3 {
		return broker.PublishResult{}, fmt.Errorf("idempotency record %q: %w", prev, streamid.ErrMalformed)
	}
	if fields[2] != fingerprint {
		return broker.PublishResult{}, broker.ErrIdempotencyConflict
	}
	id, err := streamid.Parse(fields[0])
	if err != nil {
		return broker.PublishResult{}, fmt.Errorf("idempotency record: %w", err)
	}
	n, _ := strconv.ParseInt(fields[1], 10, 64)
	return broker.PublishResult{ID: id, Receivers: n, Replayed: true}, nil
}

// History reads up to limit events of topic after the position after and
// not beyond until (inclusive; Zero = no bound).
func (b *Broker) History(ctx context.Context, topic string, after, until streamid.ID, limit int) (broker.Page, error) {
	end := "+"
	if !until.IsZero() {
		end = until.String()
	}
	reply, err := b.exec(ctx, b.page, []string{StreamKey(topic)}, []string{after.String(), end, strconv.Itoa(limit)})
	if err != nil {
		return broker.Page{}, err
	}
	if len(reply) != 4 && len(reply) != 8 {
		return broker.Page{}, fmt.Errorf("history script: unexpected reply of %d elements", len(reply))
	}
	clock, err := historyClock(reply)
	if err != nil {
		return broker.Page{}, err
	}
	lastText, _ := reply[0].ToString()
	if lastText == "" { // no such stream
		if after.IsZero() {
			return broker.Page{Next: clock}, nil
		}
		return broker.Page{Lost: true, Reason: "unknown_stream", Next: clock}, nil
	}
	maxDelText, _ := reply[1].ToString()
	last, err1 := streamid.Parse(lastText)
	maxDel, err2 := streamid.Parse(maxDelText)
	if err := errors.Join(err1, err2); err != nil {
		return broker.Page{}, fmt.Errorf("history script: %w", err)
	}
	st, held, err := streamStateOf(reply, last, maxDel)
	if err != nil {
		return broker.Page{}, err
	}
	page := broker.Page{Last: last, Next: streamid.Later(clock, last.Next())}
	if reason := st.lost(after, held); reason != "" {
		page.Lost, page.Reason = true, reason
		return page, nil
	}
	raw, err := reply[2].ToArray()
	if err != nil {
		return broker.Page{}, fmt.Errorf("history script entries: %w", err)
	}
	if page.Entries, err = parseEntries(raw); err != nil {
		return broker.Page{}, err
	}
	return page, nil
}

// historyClock reads the owning node's clock, the last element of a
// history script reply: the next XADD * gets at least this ID.
func historyClock(reply []rueidis.RedisMessage) (streamid.ID, error) {
	nowText, _ := reply[len(reply)-1].ToString()
	nowMs, err := strconv.ParseUint(nowText, 10, 64)
	if err != nil {
		return streamid.ID{}, fmt.Errorf("history script clock %q: %w", nowText, err)
	}
	return streamid.ID{Ms: nowMs}, nil
}

// streamStateOf reads the stream's bookkeeping from a history script
// reply: from Redis 7 on (8 elements) the first retained entry,
// entries-added, length and whether the position is an entry (held);
// before, only last and maxDel.
func streamStateOf(reply []rueidis.RedisMessage, last, maxDel streamid.ID) (st streamState, held bool, err error) {
	st = streamState{last: last, maxDel: maxDel, added: -1}
	if len(reply) != 8 {
		return st, false, nil
	}
	if firstText, _ := reply[3].ToString(); firstText != "" {
		if st.first, err = streamid.Parse(firstText); err != nil {
			return st, false, fmt.Errorf("history script: %w", err)
		}
		st.hasFirst = true
	}
	st.added, _ = reply[4].AsInt64()
	st.length, _ = reply[5].AsInt64()
	n, _ := reply[6].AsInt64()
	return st, n == 1, nil
}

// parseEntries decodes the entries of a history page.
func parseEntries(raw []rueidis.RedisMessage) ([]broker.Entry, error) {
	entries := make([]broker.Entry, 0, len(raw))
	for _, r := range raw {
		e, err := parseEntry(r)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// streamState is the bookkeeping of a history stream that decides whether a
// position can be resumed.
type streamState struct {
	last     streamid.ID // last-generated-id
	maxDel   streamid.ID // max-deleted-entry-id (moved by XDEL only on Redis 7.0)
	first    streamid.ID // first retained entry, when hasFirst
	hasFirst bool
	added    int64 // entries ever added; -1 when unknown (Redis < 7)
	length   int64 // entries retained
}

// lost says why events after the position after are not all retained, or ""
// when they are; held says whether after is an entry of the stream. Removed entries are the trimmed head (every ID before
// first) and XDEL'd ones (up to maxDel); a stream that never lost an entry
// yet starts after the position never held it: it was deleted and
// recreated. So was a stream whose retained range covers the position but
// which has no entry there that XDEL could have removed: positions are
// always IDs of entries.
// A client sitting exactly on the newest trimmed entry is told "trimmed"
// when IDs are free between it and first: Redis keeps no record of which
// trimmed ID was last, and a needless reset is safe where a silent gap is not.
func (st streamState) lost(after streamid.ID, held bool) string {
	removed := st.added < 0 || st.added > st.length
	switch {
	case st.last.Less(after):
		return "unknown_stream" // the position is newer than anything here
	case after.Less(st.maxDel):
		return "trimmed"
	case !after.Less(st.last):
		return "" // the client has everything
	case st.hasFirst && !removed && !after.IsZero() && after.Less(st.first):
		return "unknown_stream" // nothing was ever removed, yet the position is not here
	case st.hasFirst && removed && after.Next().Less(st.first):
		return "trimmed"
	case st.added >= 0 && st.hasFirst && !after.Less(st.first) && !held && after != st.maxDel:
		// Inside the retained range, yet never an entry here. (Before
		// Redis 7 there is no max-deleted-entry-id to tell XDEL apart.)
		return "unknown_stream"
	case !st.hasFirst && removed:
		return "trimmed" // everything up to last was removed and after < last
	}
	return ""
}

func parseEntry(r rueidis.RedisMessage) (broker.Entry, error) {
	x, err := r.AsXRangeEntry()
	if err != nil {
		return broker.Entry{}, fmt.Errorf("history entry: %w", err)
	}
	id, err := streamid.Parse(x.ID)
	if err != nil {
		return broker.Entry{}, fmt.Errorf("history entry: %w", err)
	}
	e := broker.Entry{ID: id, Event: x.FieldValues["e"], Data: []byte(x.FieldValues["d"])}
	if us, err := strconv.ParseInt(x.FieldValues["t"], 10, 64); err == nil && us > 0 {
		e.AcceptedAt = time.UnixMicro(us)
	}
	return e, nil
}

// Last returns the newest ID topic ever had, Zero when it has no history.
func (b *Broker) Last(ctx context.Context, topic string) (streamid.ID, error) {
	page, err := b.History(ctx, topic, streamid.Zero, streamid.Zero, 0)
	if err != nil {
		return streamid.ID{}, err
	}
	return page.Last, nil
}

// Run holds the subscription until ctx ends, reconnecting by itself, and
// hands every message to sink.
func (b *Broker) Run(ctx context.Context, sink broker.Sink) error {
	return b.subs.run(ctx, sink)
}

// Subscribe makes sure topics are subscribed and returns once Redis has
// confirmed each of them, or with an error wrapping broker.ErrUnavailable.
func (b *Broker) Subscribe(ctx context.Context, topics []string) error {
	return b.subs.subscribe(ctx, topics)
}

// Unsubscribe drops topics; it does not wait for Redis.
func (b *Broker) Unsubscribe(topics []string) { b.subs.unsubscribe(topics) }

// Healthy reports whether every subscription connection is up.
func (b *Broker) Healthy() bool { return b.subs.healthy() }

// HealthyFor reports whether topics can be subscribed now: with sharded
// pub/sub on a cluster, whether the shards owning them are reachable (for
// no topics, whether any needed shard is); otherwise the same as Healthy.
func (b *Broker) HealthyFor(topics []string) bool { return b.subs.healthyFor(topics) }
