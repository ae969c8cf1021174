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
// Cluster adds +cluster|slots, Sentinel +role, a database other than 0
// +select.
const (
	PublisherACL = "-@all +ping +evalsha +eval +get +set +xadd +xtrim +publish +spublish ~ssegate:* &*"
	GatewayACL   = "-@all +ping +evalsha +eval +time +exists +xinfo|stream +xrange +subscribe +unsubscribe +ssubscribe +sunsubscribe ~ssegate:* &*"
)

// Names the checks use: a key and a channel no topic can have (topic
// names have no braces), in one cluster slot so one script reaches both.
const (
	probeKey     = "ssegate:{probe}:key"
	probeChannel = "ssegate:{probe}"
)

// probeSource calls every command of the selected paths with harmless
// arguments (nothing is created: XADD NOMKSTREAM, SET XX, trims of a key
// that does not exist, a publish nobody receives) and returns the
// permission errors, one per denied command. Redis checks a script's
// commands against the user's ACL like direct ones, before running them.
// A denied channel is not reported: the command itself is allowed, and
// which channels (topics) a deployment grants is its choice.
//
// KEYS[1] probe key. ARGV: 1 "1" to check reads, 2 "1" to check writes,
// 3 the probe channel, 4 "1" for SPUBLISH.
const probeSource = `
local denied = {}
local function try(...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err then
    local e = r.err
    if (string.find(e, 'NOPERM', 1, true) or string.find(e, 'permission', 1, true) or string.find(e, "can't", 1, true))
       and not string.find(e, 'channel', 1, true) then
      table.insert(denied, string.lower(select(1, ...)) .. ': ' .. e)
    end
  end
end
if ARGV[1] == '1' then
  try('TIME')
  try('EXISTS', KEYS[1])
  try('XINFO', 'STREAM', KEYS[1])
  try('XRANGE', KEYS[1], '-', '+', 'COUNT', '1')
end
if ARGV[2] == '1' then
  try('GET', KEYS[1])
  try('SET', KEYS[1], '1', 'XX')
  try('XADD', KEYS[1], 'NOMKSTREAM', 'MAXLEN', '0', '*', 'p', '1')
  try('XTRIM', KEYS[1], 'MAXLEN', '0')
  if ARGV[4] == '1' then try('SPUBLISH', ARGV[3], '') else try('PUBLISH', ARGV[3], '') end
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
	denied, err := rueidis.NewLuaScript(probeSource).Exec(ctx, c.cmd, []string{probeKey},
		[]string{flag(AccessRead), flag(AccessPublish), probeChannel, shard}).AsStrSlice()
	if err != nil {
		return err
	}
	if access&AccessSubscribe != 0 {
		if err := probeSubscribe(ctx, c.cmd, sharded); err != nil {
			var re *rueidis.RedisError
			if !errors.As(err, &re) {
				return err
			}
			denied = append(denied, err.Error())
		}
	}
	if len(denied) > 0 {
		return permissionError(access, denied)
	}
	return nil
}

// probeSubscribe subscribes to the probe channel on a connection of its
// own and drops that connection (it is in subscriber mode). A refused
// channel is not an error, as in probeSource.
func probeSubscribe(ctx context.Context, client rueidis.Client, sharded bool) error {
	dc, release := client.Dedicate()
	defer release()
	defer dc.Close()
	dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(rueidis.PubSubMessage) {}})
	cmd := dc.B().Subscribe().Channel(probeChannel).Build()
	if sharded {
		cmd = dc.B().Ssubscribe().Channel(probeChannel).Build()
	}
	err := dc.Do(ctx, cmd).Error()
	if err != nil && strings.Contains(err.Error(), "channel") {
		return nil
	}
	return err
}

// permissionError is the one line naming what the user lacks and the rule
// that grants everything.
func permissionError(access Access, denied []string) error {
	rule, who := GatewayACL, "gateway"
	if access&AccessPublish != 0 {
		rule, who = PublisherACL, "publisher"
	}
	msg := strings.Join(denied, "; ")
	return &ConfigError{
		Fix: fmt.Sprintf("the redis user lacks a permission (%s): grant it with ACL SETUSER; the %s needs %q (README: Managed and secured Redis)", msg, who, rule),
		Err: errors.New(msg),
	}
}
