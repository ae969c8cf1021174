package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
)

// TestReplyClass pins the class of every error reply ssegate can meet, in
// the words Redis 7.0 and 6.2 use, also when a call inside a script failed.
// The classes produced for real against a redis-server are covered by
// test/hardening/redis_errors_test.go; LOADING, CLUSTERDOWN and TRYAGAIN
// are hard to produce on demand and rest on this table.
func TestReplyClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reply string
		want  broker.Class
	}{
		{"OOM command not allowed when used memory > 'maxmemory'. script: 0e72, on @user_script:1.", broker.ClassOOM},
		{"ERR Error running script (call to f_0e72): @user_script:5: @user_script: 5: -OOM command not allowed when used memory > 'maxmemory'.", broker.ClassOOM},
		{"READONLY You can't write against a read only replica. script: f20f, on @user_script:1.", broker.ClassReadOnly},
		{"ERR Error running script (call to f_f20f): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica.", broker.ClassReadOnly},
		{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", broker.ClassBusy},
		{"LOADING Redis is loading the dataset in memory", broker.ClassLoading},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", broker.ClassMasterDown},
		{"NOREPLICAS Not enough good replicas to write.", broker.ClassNoReplicas},
		{"CLUSTERDOWN The cluster is down", broker.ClassClusterDown},
		{"TRYAGAIN Multiple keys request during rehashing of slot", broker.ClassTryAgain},
		{"MOVED 3999 127.0.0.1:6381", broker.ClassTryAgain},
		{"ASK 3999 127.0.0.1:6381", broker.ClassTryAgain},
		{"NOPERM this user has no permissions to run the 'evalsha' command", broker.ClassNoPerm},
		{"NOPERM this user has no permissions to access one of the keys used as arguments", broker.ClassNoPerm},
		{"ERR The user executing the script can't run this command or subcommand script: a511, on @user_script:1.", broker.ClassNoPerm},
		{"ERR The user executing the script can't publish to the channel mentioned in the command script: f20f, on @user_script:1.", broker.ClassNoPerm},
		{"NOPERM the redis user may not run every command of a publish (XADD, XTRIM, PUBLISH or SPUBLISH, SET) on this topic: nothing was written script: 1c2d, on @user_script:9.", broker.ClassNoPerm},
		{"WRONGPASS invalid username-password pair or user is disabled.", broker.ClassWrongPass},
		{"NOAUTH Authentication required.", broker.ClassWrongPass},
		{"NOSCRIPT No matching script. Please use EVAL.", broker.ClassNoScript},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", broker.ClassOther},
		{"ERR Error running script (call to f_1): @user_script:1: user_script:1: attempt to call a nil value", broker.ClassOther},
		{"ERR ASK me no questions script: 1", broker.ClassOther}, // ASK is a redirect only as the leading code
	}
	for _, tt := range tests {
		if got := replyClass(tt.reply); got != tt.want {
			t.Errorf("replyClass(%q) = %q, want %q", tt.reply, got, tt.want)
		}
	}
}

// TestClassOfNetwork: an error that is not a reply is the network's: a
// timeout or a lost connection; a caller that gave up has no class.
func TestClassOfNetwork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want broker.Class
	}{
		{context.DeadlineExceeded, broker.ClassTimeout},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), broker.ClassTimeout},
		{io.EOF, broker.ClassConnection},
		{rueidis.ErrClosing, broker.ClassConnection},
		{errNotConnected, broker.ClassConnection},
		{context.Canceled, ""},
	}
	for _, tt := range tests {
		if got := classOf(tt.err); got != tt.want {
			t.Errorf("classOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestWrapReplyMatchesSentinels: callers tell the HTTP answer apart with
// errors.Is alone.
func TestWrapReplyMatchesSentinels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err                  error
		unavailable, misconf bool
	}{
		{context.DeadlineExceeded, true, false},
		{context.Canceled, true, false},
		{io.EOF, true, false},
	}
	for _, tt := range tests {
		err := wrapReply(tt.err)
		if errors.Is(err, broker.ErrUnavailable) != tt.unavailable || errors.Is(err, broker.ErrMisconfigured) != tt.misconf {
			t.Errorf("wrapReply(%v): unavailable %v, misconfigured %v; want %v, %v", tt.err,
				errors.Is(err, broker.ErrUnavailable), errors.Is(err, broker.ErrMisconfigured), tt.unavailable, tt.misconf)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("wrapReply(%v) lost the cause", tt.err)
		}
	}
	for _, c := range broker.Classes() {
		e := &broker.Error{Class: c, Err: io.EOF}
		if errors.Is(e, broker.ErrUnavailable) != c.Retryable() || errors.Is(e, broker.ErrMisconfigured) != c.Misconfigured() {
			t.Errorf("class %q: Is(ErrUnavailable) %v, Is(ErrMisconfigured) %v", c, errors.Is(e, broker.ErrUnavailable), errors.Is(e, broker.ErrMisconfigured))
		}
		if c.Retryable() && c.Misconfigured() {
			t.Errorf("class %q is both retry-later and a configuration fault", c)
		}
	}
}
