package redisbroker

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
)

// codeClass maps the error code Redis puts first in an error reply to its
// class. MOVED and ASK reach the caller only when a slot moved more often
// than the client follows: a migration, like TRYAGAIN.
func codeClass(word string) (broker.Class, bool) {
	switch word {
	case "OOM":
		return broker.ClassOOM, true
	case "READONLY":
		return broker.ClassReadOnly, true
	case "BUSY":
		return broker.ClassBusy, true
	case "LOADING":
		return broker.ClassLoading, true
	case "MASTERDOWN":
		return broker.ClassMasterDown, true
	case "NOREPLICAS":
		return broker.ClassNoReplicas, true
	case "CLUSTERDOWN":
		return broker.ClassClusterDown, true
	case "TRYAGAIN", "MOVED", "ASK":
		return broker.ClassTryAgain, true
	case "NOPERM":
		return broker.ClassNoPerm, true
	case "WRONGPASS", "NOAUTH":
		return broker.ClassWrongPass, true
	case "NOSCRIPT":
		return broker.ClassNoScript, true
	}
	return "", false
}

// classOf is the one place that says what a failed Redis call means. An
// error that is not a Redis reply is the network's: a timeout (the call's
// deadline, or the connection's write timeout) or a lost connection. A
// reply is classed by its leading code; a script's failure is classed by
// the code of the call that failed inside it, which Redis 7 keeps first
// ("OOM command not allowed …", "READONLY You can't write … script: …")
// and Redis 6 puts after "ERR Error running script …: @user_script:N: -CODE".
// A caller that gave up (context.Canceled) gets "" : that is no Redis error.
func classOf(err error) broker.Class {
	var re *rueidis.RedisError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return replyClass(re.Error())
	case errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return broker.ClassTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return broker.ClassTimeout
	}
	return broker.ClassConnection
}

// replyClass classes an error reply's text.
func replyClass(msg string) broker.Class {
	first, _, _ := strings.Cut(msg, " ")
	if c, ok := codeClass(first); ok {
		return c
	}
	switch {
	case strings.Contains(msg, "invalid username-password"):
		return broker.ClassWrongPass
	case strings.Contains(msg, "The user executing the script can't"):
		// Redis 7.0's words for a call an ACL refused inside a script.
		return broker.ClassNoPerm
	}
	if !strings.Contains(msg, "script") {
		return broker.ClassOther
	}
	// The code of a call that failed inside a script, wherever the
	// wrapping put it: "-OOM …", ": NOPERM …", "(NOPERM) …".
	for _, word := range strings.FieldsFunc(msg, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		if c, ok := codeClass(word); ok && word != "ASK" {
			return c
		}
	}
	return broker.ClassOther
}

// wrapReply wraps err from a Redis call as a *broker.Error carrying its
// class; a call the caller abandoned is marked broker.ErrUnavailable alone.
func wrapReply(err error) error {
	c := classOf(err)
	if c == "" {
		return errors.Join(broker.ErrUnavailable, err)
	}
	return &broker.Error{Class: c, Err: err}
}

// transient reports whether a retry may succeed without an operator.
func transient(err error) bool {
	c := classOf(err)
	return c == "" || c.Retryable()
}
