package redisbroker

import "github.com/redis/rueidis"

// publishScript appends an event to a topic's history and publishes it with
// its stream ID in one atomic step, so an event is either in history and on
// the channel or in neither. A MULTI/EXEC would do the same but rueidis
// v1.0.79 panics when a subscribed connection sees its own PUBLISH inside
// EXEC (see PITFALLS.md), and a script can put the new ID into the message.
//
// A history that does not exist yet starts after every ID the lost one can
// have held, where XADD * would not: when a key is lost (evicted by an
// allkeys-* maxmemory policy, deleted), its last ID may be of the current
// millisecond, and a gateway subscribed throughout drops a live message
// whose ID is not after the last one it dispatched, taking it for a
// duplicate. So the first ID is '<now+1>-<µs within now>': after every
// '<now>-N' from XADD *, and after what a history recreated earlier in the
// same millisecond gave (it started at '<now+1>-<an earlier µs>' and got
// one ID per XADD since, each of which takes Redis more than a µs).
//
// A keyed event (ARGV[10]) also becomes its key's latest in the topic's
// state: the hash KEYS[3] maps the key to the event's envelope (the message
// published, with its ID), and the sorted set KEYS[4] scores the key by
// the event's ID (millisecond + min(sequence, 1023)/1024, exact in a
// double), so entries older than the state's age limit, and the oldest
// entry, are found without reading the hash. A new key while the hash holds
// the maximum (after pruning expired keys) evicts the keys whose latest
// events are the oldest (lowest score; ties, only past 1023 events in one
// millisecond, by key order) until it fits: the event is always published,
// the evicted keys' events stay in the history. Eviction reuses the
// ZRANGEBYSCORE that pruning runs, so the ACL a publisher needs is
// unchanged. A tombstone (ARGV[11]) removes the key.
//
// KEYS[1] history stream, KEYS[2] idempotency key, KEYS[3] state hash,
// KEYS[4] state age set (same hash tag).
// ARGV: 1 channel, 2 event name, 3 accept time (unix µs), 4 data,
// 5 MAXLEN, 6 max age in ms for age trimming ("" = none), 7 "1" for SPUBLISH,
// 8 idempotency TTL seconds ("0" = no key), 9 request fingerprint,
// 10 state key ("" = none), 11 "1" for a tombstone, 12 state max keys,
// 13 state max age in ms ("" = none).
// Returns {"ok", id, receivers} or {"replay", "<id> <receivers> <fingerprint>"}.
//
// Redis does not roll a script back: a write refused after XADD (an ACL
// without PUBLISH, or without the channel) would leave the event in history
// but unpublished and the request answered as failed. So on Redis 7+
// (redis.acl_check_cmd) the script first checks every command it may run
// and refuses with NOPERM before writing anything.
const publishSource = `
if redis.acl_check_cmd then
  local pub = 'PUBLISH'
  if ARGV[7] == '1' then pub = 'SPUBLISH' end
  if not (redis.acl_check_cmd('XADD', KEYS[1], '*', 'e', '') and redis.acl_check_cmd(pub, ARGV[1], '')
      and (ARGV[6] == '' or redis.acl_check_cmd('XTRIM', KEYS[1], 'MINID', '0'))
      and (ARGV[8] == '0' or redis.acl_check_cmd('SET', KEYS[2], '', 'EX', '1'))) then
    return redis.error_reply('NOPERM the redis user may not run every command of a publish (XADD, XTRIM, PUBLISH or SPUBLISH, SET) on this topic: nothing was written')
  end
end
if ARGV[8] ~= '0' then
  local prev = redis.call('GET', KEYS[2])
  if prev then return {'replay', prev} end
end
local skey = ARGV[10]
-- Removes up to limit (at most 1000) of the oldest state keys whose latest
-- event is before cutoff (ms; '+inf' for any age).
local function prune(cutoff, limit)
  local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', cutoff, 'LIMIT', 0, math.min(limit, 1000))
  if #old > 0 then
    redis.call('HDEL', KEYS[3], unpack(old))
    redis.call('ZREM', KEYS[4], unpack(old))
  end
end
local at = '*'
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- A new history: the topic's first event, or its key was lost (evicted,
  -- deleted, flushed). XADD * would start it at '<now>-0', behind a lost
  -- '<now>-N': start at '<now+1>-<µs within now>' instead.
  local t = redis.call('TIME')
  local us = tonumber(t[2])
  at = string.format('%.0f-%d', tonumber(t[1]) * 1000 + math.floor(us / 1000) + 1, us % 1000)
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], at, 'e', ARGV[2], 't', ARGV[3], 'd', ARGV[4])
local ms = tonumber(string.match(id, '^(%d+)'))
if ARGV[6] ~= '' then
  -- Age is measured on Redis's clock (the new ID), not the publisher's: a
  -- publisher clock running ahead must not trim the event just added.
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', ms - tonumber(ARGV[6])))
end
local msg = '\31ssegate1 ' .. id .. ' ' .. ARGV[3] .. ' ' .. ARGV[2] .. '\n' .. ARGV[4]
local n
if ARGV[7] == '1' then n = redis.call('SPUBLISH', ARGV[1], msg) else n = redis.call('PUBLISH', ARGV[1], msg) end
if ARGV[8] ~= '0' then redis.call('SET', KEYS[2], id .. ' ' .. n .. ' ' .. ARGV[9], 'EX', ARGV[8]) end
if skey ~= '' then
  if ARGV[13] ~= '' then prune('(' .. string.format('%.0f', ms - tonumber(ARGV[13])), 1000) end
  if ARGV[11] == '1' then
    redis.call('HDEL', KEYS[3], skey)
    redis.call('ZREM', KEYS[4], skey)
  else
    if redis.call('HEXISTS', KEYS[3], skey) == 0 then
      -- A new key: evict the oldest keys to make room (expired ones are gone).
      local over = redis.call('HLEN', KEYS[3]) - tonumber(ARGV[12]) + 1
      if over > 0 then prune('+inf', over) end
    end
    local seq = tonumber(string.match(id, '-(%d+)$'))
    redis.call('HSET', KEYS[3], skey, msg)
    redis.call('ZADD', KEYS[4], string.format('%.0f', ms) .. '.' .. string.format('%010.0f', math.min(seq, 1023) * 9765625), skey)
  end
end
return {'ok', id, n}
`

// pageSource reads one page of history after a position, together with the
// stream's bookkeeping that tells whether anything after that position was
// removed, in one atomic step.
//
// Trimming (XADD MAXLEN ~, XTRIM MINID ~) does not move
// max-deleted-entry-id on Redis 7.0 (only XDEL does), so the script also
// returns the first retained ID and how many entries were ever added and are
// still kept: what was removed by trimming lies before the first entry.
//
// It also says whether the start position itself is an entry of the
// stream: a position inside the retained range that the stream never held
// comes from an earlier stream of the same name (deleted and recreated,
// Redis restarted without its data), whose IDs say nothing about this one.
//
// It returns the clock of the node that owns the stream too (XADD's IDs
// start from it), so a reader can tell whether new IDs will come after a
// position from a lost history.
//
// KEYS[1] history stream. ARGV: 1 exclusive start ID, 2 inclusive end ID or
// "+", 3 COUNT, 4 (optional) "newest": the newest COUNT entries instead,
// newest first (Recent). Returns {last-generated-id, max-deleted-entry-id, entries,
// first entry's ID ("" when empty), entries-added (-1 when Redis does
// not report it), length, 1 when the start ID is an entry else 0, the
// node's clock in ms}, or {"", "", {}, clock} when the stream does not exist.
const pageSource = `
local t = redis.call('TIME')
local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', '', {}, now} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, maxdel, first, added, len = '0-0', '0-0', '', -1, 0
local firstEntry
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'last-generated-id' then last = info[i+1]
  elseif k == 'max-deleted-entry-id' then maxdel = info[i+1]
  elseif k == 'entries-added' then added = info[i+1]
  elseif k == 'length' then len = info[i+1]
  elseif k == 'first-entry' then firstEntry = info[i+1] end
end
if len > 0 and type(firstEntry) == 'table' then first = firstEntry[1] end
local entries = {}
if ARGV[4] == 'newest' and tonumber(ARGV[3]) > 0 then
  -- Recent: the newest entries, newest first. Under pcall: should the ACL
  -- lose XREVRANGE after the start-up probe, the window starts empty.
  local ok, r = pcall(redis.call, 'XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[3])
  if ok then entries = r end
elseif ARGV[4] ~= 'newest' and tonumber(ARGV[3]) > 0 then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], ARGV[2], 'COUNT', ARGV[3])
end
local held = 0
if ARGV[1] ~= '0-0' and #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1], 'COUNT', 1) > 0 then held = 1 end
return {last, maxdel, entries, first, added, len, held, now}
`

func newScripts() (publish, page, state *rueidis.Lua) {
	return rueidis.NewLuaScript(publishSource), rueidis.NewLuaScript(pageSource), rueidis.NewLuaScript(stateSource)
}
