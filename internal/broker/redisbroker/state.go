package redisbroker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/streamid"
)

// stateSource reads a topic's keyed state and the newest ID of its history
// in one atomic step, so that every entry is at or before that ID and every
// event after it comes later (the publish script writes both together). It
// writes nothing: the gateway runs it with read permissions only, and
// expired entries are skipped by the caller, pruned by the publish script.
//
// KEYS[1] history stream, KEYS[2] state hash. Returns {last-generated-id
// ("" when there is no stream), HGETALL of the hash, the node's clock in ms}.
const stateSource = `
local t = redis.call('TIME')
local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local last = ''
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i+1] end
  end
end
return {last, redis.call('HGETALL', KEYS[2]), now}
`

// stateArgs are the publish script's state arguments (10 to 13) for req.
func (b *Broker) stateArgs(req broker.PublishRequest) []string {
	del, maxAge := "0", ""
	if req.Delete {
		del = "1"
	}
	if b.hist.State.MaxAge > 0 {
		maxAge = strconv.FormatInt(max(b.hist.State.MaxAge.Milliseconds(), 1), 10)
	}
	return []string{req.Key, del, strconv.FormatInt(b.hist.State.MaxKeys, 10), maxAge}
}

// State reads topic's keyed state: the latest event of every key, in stream
// order, without the entries older than the state's age limit, and the
// position it is consistent with.
func (b *Broker) State(ctx context.Context, topic string) (broker.State, error) {
	reply, err := b.exec(ctx, b.state, []string{StreamKey(topic), StateKey(topic)}, nil)
	if err != nil {
		return broker.State{}, err
	}
	if len(reply) != 3 {
		return broker.State{}, fmt.Errorf("state script: unexpected reply of %d elements", len(reply))
	}
	clock, err := historyClock(reply)
	if err != nil {
		return broker.State{}, fmt.Errorf("state script: %w", err)
	}
	var st broker.State
	if lastText, _ := reply[0].ToString(); lastText != "" {
		if st.Position, err = streamid.Parse(lastText); err != nil {
			return broker.State{}, fmt.Errorf("state script: %w", err)
		}
	}
	fields, err := reply[1].ToArray()
	if err != nil || len(fields)%2 != 0 {
		return broker.State{}, fmt.Errorf("state script: state hash of %d elements: %w", len(fields), err)
	}
	now := time.UnixMilli(int64(clock.Ms))
	for i := 0; i < len(fields); i += 2 {
		e, err := parseStateEntry(fields[i], fields[i+1])
		if err != nil {
			return broker.State{}, fmt.Errorf("state of %q: %w", topic, err)
		}
		if broker.Expired(e.ID, now, b.hist.State.MaxAge) {
			continue
		}
		// A history lost (evicted) after the entry was written: the
		// position must still cover every entry.
		st.Position = streamid.Later(st.Position, e.ID)
		st.Entries = append(st.Entries, e)
	}
	slices.SortFunc(st.Entries, func(a, b broker.StateEntry) int { return a.ID.Compare(b.ID) })
	return st, nil
}

// parseStateEntry decodes one field and value of the state hash.
func parseStateEntry(field, value rueidis.RedisMessage) (broker.StateEntry, error) {
	key, err1 := field.ToString()
	msg, err2 := value.ToString()
	if err1 != nil || err2 != nil {
		return broker.StateEntry{}, fmt.Errorf("state entry: %w", streamid.ErrMalformed)
	}
	env, ok, err := envelope.Decode([]byte(msg))
	if err != nil || !ok {
		return broker.StateEntry{}, fmt.Errorf("state entry %q: %w", key, envelope.ErrMalformed)
	}
	return broker.StateEntry{Key: key, Entry: broker.Entry{ID: env.ID, Event: env.Event, Data: env.Data, AcceptedAt: env.AcceptedAt}}, nil
}
