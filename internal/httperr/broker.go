package httperr

import (
	"errors"
	"net/http"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
)

// Broker answers a failed broker call, the same way on both services (the
// table "Redis errors" in docs/CONTRACT.md):
//   - a retry-later class (Redis unreachable, slow, out of memory, failing
//     over, busy, loading: errors.Is(err, broker.ErrUnavailable)) is a 503
//     redis_unavailable with Retry-After retry. OOM included: it passes when
//     consumers trim or an operator adds memory, and 503 is what clients and
//     proxies retry (507 is WebDAV's "cannot store", which they do not);
//   - a configuration fault (NOPERM, WRONGPASS, NOSCRIPT:
//     broker.ErrMisconfigured) is a 500 redis_misconfigured: the caller cannot
//     fix it and waiting does not help;
//
// The message names the class and appends hint (what the caller should do).
// Any other error gives nil: the caller answers it (a logged 500 internal).
func Broker(err error, retry time.Duration, hint string) *Error {
	class := broker.ClassOf(err)
	switch {
	case errors.Is(err, broker.ErrMisconfigured):
		return New(http.StatusInternalServerError, "redis_misconfigured",
			"the event broker refuses this service's commands ("+string(class)+"): an operator must fix the Redis ACL or configuration")
	case errors.Is(err, broker.ErrUnavailable):
		return Unavailable("redis_unavailable", unavailableText(class)+"; "+hint, retry)
	}
	return nil
}

// unavailableText says in words why the broker cannot take a call now.
func unavailableText(c broker.Class) string {
	switch c {
	case broker.ClassOOM:
		return "the event broker is out of memory (oom)"
	case broker.ClassTimeout:
		return "the event broker did not answer in time (timeout)"
	case broker.ClassBusy, broker.ClassLoading:
		return "the event broker is busy (" + string(c) + ")"
	case broker.ClassReadOnly, broker.ClassMasterDown, broker.ClassNoReplicas, broker.ClassClusterDown, broker.ClassTryAgain:
		return "the event broker is failing over (" + string(c) + ")"
	}
	return "the event broker is unavailable"
}
