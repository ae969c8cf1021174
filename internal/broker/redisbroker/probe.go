package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/rueidis"
)

// Access is what a service does with Redis: it decides which permissions
// the check at start asks for. The zero value is AccessRead.
type Access uint8

const (
	// AccessRead reads topic history (the gateway).
	AccessRead Access = 1 << iota
	// AccessSubscribe holds the pub/sub subscription (the gateway).
	AccessSubscribe
	// AccessPublish appends to history and publishes (the publisher).
	AccessPublish
)

// The least-privilege ACL rules, as written in README.md ("Managed and
// secured Redis"): the commands each service runs, directly or inside its
// scripts, on keys ssegate:* and any channel (channels are topic names).
// The client asks CLUSTER SLOTS at every start to tell a Cluster from a
// single node (a denial is tolerated there, but shows in ACL LOG). With
// Sentinel the master also needs +role, with a database other than 0
// +select.
const (
	PublisherACL = "-@all +ping +cluster|slots +evalsha +eval +time +exists +get +set +xadd +xtrim +publish +spublish +hexists +hlen +hset +hdel +zadd +zrem +zrangebyscore ~ssegate:* &*"
	GatewayACL   = "-@all +ping +cluster|slots +evalsha +eval +time +exists +xinfo|stream +xrange +xrevrange +hgetall +subscribe +unsubscribe +ssubscribe +sunsubscribe ~ssegate:* &*"
)

// Names the checks use: a key and a channel no topic can have (topic
// names have no braces), in one cluster slot so one script reaches both.
const (
	probeKey     = "ssegate:{probe}:key"
	probeChannel = "ssegate:{probe}"
)

// probeSource calls every command of the selected paths with harmless
// arguments (nothing is created: XADD NOMKSTREAM, SET XX, trims of a key
// that does not exist, a publish nobody receives, a hash field and a set
// member removed right after they were added) and returns the
// commands the user may not run, as ACL rules ("+xadd"). Redis checks a script's
// commands against the user's ACL like direct ones, before running them.
// A denied channel is not reported: the command itself is allowed, and
// which channels (topics) a deployment grants is its choice.
//
// KEYS[1] probe key. ARGV: 1 "1" to check reads, 2 "1" to check writes,
// 3 the probe channel, 4 "1" for SPUBLISH.
const probeSource = `
local denied = {}
local function try(name, ...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err then
    local e = r.err
    if (string.find(e, 'NOPERM', 1, true) or string.find(e, 'user executing the script', 1, true))
       and not string.find(e, 'channel', 1, true) then
      table.insert(denied, '+' .. name)
    end
  end
end
if ARGV[1] == '1' then
  try('time', 'TIME')
  try('exists', 'EXISTS', KEYS[1])
  try('xinfo|stream', 'XINFO', 'STREAM', KEYS[1])
  try('xrange', 'XRANGE', KEYS[1], '-', '+', 'COUNT', '1')
  try('xrevrange', 'XREVRANGE', KEYS[1], '+', '-', 'COUNT', '1')
  try('hgetall', 'HGETALL', KEYS[1])
end
if ARGV[2] == '1' then
  try('get', 'GET', KEYS[1])
  try('set', 'SET', KEYS[1], '1', 'XX')
  try('xadd', 'XADD', KEYS[1], 'NOMKSTREAM', 'MAXLEN', '0', '*', 'p', '1')
  try('xtrim', 'XTRIM', KEYS[1], 'MAXLEN', '0')
  try('time', 'TIME')
  try('exists', 'EXISTS', KEYS[1])
  -- The keyed state: each write is undone by the next command, so the
  -- probe key is gone again (a hash or set without members is deleted).
  try('hexists', 'HEXISTS', KEYS[1], 'f')
  try('hlen', 'HLEN', KEYS[1])
  try('hset', 'HSET', KEYS[1], 'f', '1')
  try('hdel', 'HDEL', KEYS[1], 'f')
  try('zrangebyscore', 'ZRANGEBYSCORE', KEYS[1], '-inf', '+inf', 'LIMIT', 0, 1)
  try('zadd', 'ZADD', KEYS[1], 0, 'f')
  try('zrem', 'ZREM', KEYS[1], 'f')
  if ARGV[4] == '1' then try('spublish', 'SPUBLISH', ARGV[3], '') else try('publish', 'PUBLISH', ARGV[3], '') end
end
return denied
`

// probe checks at start that the user may do what access needs, so a
// missing permission is one clear line now instead of a failure at the
// first event. On a Redis without ACLs (before 6) nothing is denied.
func probe(ctx context.Context, c *conns, access Access, sharded bool) error {
	if access == 0 {
		access = AccessRead
	}
	if err := c.cmd.Do(ctx, c.cmd.B().Ping().Build()).Error(); err != nil {
		return err
	}
	flag := func(a Access) string {
		if access&a != 0 {
			return "1"
		}
		return "0"
	}
	shard := "0"
	if sharded {
		shard = "1"
	}
	// EVALSHA (EVAL when the script is not cached), then EVAL: the
	// service's scripts need both, EVAL whenever Redis lost its scripts.
	args := []string{flag(AccessRead), flag(AccessPublish), probeChannel, shard}
	denied, err := rueidis.NewLuaScript(probeSource).Exec(ctx, c.cmd, []string{probeKey}, args).AsStrSlice()
	if err != nil {
		return err
	}
	eval := c.cmd.B().Eval().Script(probeSource).Numkeys(1).Key(probeKey).Arg(args...).Build()
	if err := c.cmd.Do(ctx, eval).Error(); err != nil {
		return err
	}
	if access&AccessSubscribe != 0 {
		name, err := probeSubscribe(ctx, c.cmd, sharded)
		if err != nil {
			return err
		}
		if name != "" {
			denied = append(denied, name)
		}
	}
	if len(denied) > 0 {
		return permissionError(access, denied)
	}
	return nil
}

// probeSubscribe subscribes to the probe channel and unsubscribes on a
// connection of its own, then drops that connection (it was in subscriber
// mode). It returns the denied command as an ACL rule ("+subscribe"), ""
// when both are allowed, or an error that is not a permission error. A
// refused channel is not reported, as in probeSource.
func probeSubscribe(ctx context.Context, client rueidis.Client, sharded bool) (string, error) {
	dc, release := client.Dedicate()
	defer release()
	defer dc.Close()
	dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(rueidis.PubSubMessage) {}})
	cmds := []rueidis.Completed{dc.B().Subscribe().Channel(probeChannel).Build(), dc.B().Unsubscribe().Channel(probeChannel).Build()}
	names := []string{"+subscribe", "+unsubscribe"}
	if sharded {
		cmds = []rueidis.Completed{dc.B().Ssubscribe().Channel(probeChannel).Build(), dc.B().Sunsubscribe().Channel(probeChannel).Build()}
		names = []string{"+ssubscribe", "+sunsubscribe"}
	}
	for i, cmd := range cmds {
		err := dc.Do(ctx, cmd).Error()
		switch {
		case err == nil || strings.Contains(err.Error(), "channel"):
		case strings.Contains(err.Error(), "NOPERM"):
			return names[i], nil
		default:
			return "", err
		}
	}
	return "", nil
}

// permissionError is the one line naming what the user lacks and the rule
// that grants everything.
func permissionError(access Access, denied []string) error {
	rule, who := GatewayACL, "gateway"
	if access&AccessPublish != 0 {
		rule, who = PublisherACL, "publisher"
	}
	msg := strings.Join(denied, " ")
	return &ConfigError{
		Fix: fmt.Sprintf("the redis user lacks a permission (%s): grant it with ACL SETUSER; the %s needs %q (README: Managed and secured Redis)", msg, who, rule),
		Err: fmt.Errorf("%w: %s", errPermission, msg),
	}
}

// errPermission is what a failed permission check wraps.
var errPermission = errors.New("NOPERM")
