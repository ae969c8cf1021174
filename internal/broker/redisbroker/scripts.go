package redisbroker

import "github.com/redis/rueidis"

// publishScript appends an event to a topic's history and publishes it with
// its stream ID in one atomic step, so an event is either in history and on
// the channel or in neither. A MULTI/EXEC would do the same but rueidis
// v1.0.79 panics when a subscribed connection sees its own PUBLISH inside
// EXEC (see PITFALLS.md), and a script can put the new ID into the message.
//
// KEYS[1] history stream, KEYS[2] idempotency key (same hash tag).
// ARGV: 1 channel, 2 event name, 3 accept time (unix µs), 4 data,
// 5 MAXLEN, 6 MINID for age trimming ("" = none), 7 "1" for SPUBLISH,
// 8 idempotency TTL seconds ("0" = no key), 9 request fingerprint.
// Returns {"ok", id, receivers} or {"replay", "<id> <receivers> <fingerprint>"}.
const publishSource = `
if ARGV[8] ~= '0' then
  local prev = redis.call('GET', KEYS[2])
  if prev then return {'replay', prev} end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[2], 't', ARGV[3], 'd', ARGV[4])
if ARGV[6] ~= '' then redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[6]) end
local msg = '\31ssegate1 ' .. id .. ' ' .. ARGV[3] .. ' ' .. ARGV[2] .. '\n' .. ARGV[4]
local n
if ARGV[7] == '1' then n = redis.call('SPUBLISH', ARGV[1], msg) else n = redis.call('PUBLISH', ARGV[1], msg) end
if ARGV[8] ~= '0' then redis.call('SET', KEYS[2], id .. ' ' .. n .. ' ' .. ARGV[9], 'EX', ARGV[8]) end
return {'ok', id, n}
`

// pageSource reads one page of history after a position, together with the
// stream's bookkeeping that tells whether anything after that position was
// trimmed, in one atomic step.
//
// KEYS[1] history stream. ARGV: 1 exclusive start ID, 2 inclusive end ID or
// "+", 3 COUNT. Returns {last-generated-id, max-deleted-entry-id, entries}
// or {"", "", {}} when the stream does not exist.
const pageSource = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', '', {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, maxdel = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i+1]
  elseif info[i] == 'max-deleted-entry-id' then maxdel = info[i+1] end
end
local entries = {}
if tonumber(ARGV[3]) > 0 then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], ARGV[2], 'COUNT', ARGV[3])
end
return {last, maxdel, entries}
`

func newScripts() (publish, page *rueidis.Lua) {
	return rueidis.NewLuaScript(publishSource), rueidis.NewLuaScript(pageSource)
}
