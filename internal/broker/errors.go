package broker

import "errors"

// ErrMisconfigured reports that the broker refuses ssegate's commands for a
// reason only an operator can fix (a missing ACL permission, a rejected
// password, a script the server will not load). Retrying does not help; HTTP
// callers answer 500 and the service reports itself not ready.
var ErrMisconfigured = errors.New("broker refuses the commands: configuration or permission")

// Class names why a broker call failed. It is the label of the services'
// Redis error counters, so its values are fixed (Classes lists them) and
// every failure has exactly one.
type Class string

// The classes of broker failures. Each is either retry-later (Retryable:
// HTTP 503 with Retry-After) or a configuration fault (Misconfigured: HTTP
// 500, not ready); ClassOther is neither (a bug or an unexpected reply: 500).
const (
	ClassConnection  Class = "connection"  // no connection, connection lost, client closing
	ClassTimeout     Class = "timeout"     // no reply in time (a paused or overloaded server)
	ClassOOM         Class = "oom"         // maxmemory reached with a noeviction policy
	ClassReadOnly    Class = "readonly"    // a replica (a demoted primary during failover)
	ClassBusy        Class = "busy"        // a script or module command runs too long
	ClassLoading     Class = "loading"     // the server is loading its dataset
	ClassMasterDown  Class = "masterdown"  // a replica lost its primary
	ClassNoReplicas  Class = "noreplicas"  // fewer good replicas than min-replicas-to-write
	ClassClusterDown Class = "clusterdown" // the cluster cannot serve the slot
	ClassTryAgain    Class = "tryagain"    // a slot is migrating (TRYAGAIN, MOVED, ASK)
	ClassNoPerm      Class = "noperm"      // the ACL user lacks a command, key or channel
	ClassWrongPass   Class = "wrongpass"   // credentials rejected or missing (WRONGPASS, NOAUTH)
	ClassNoScript    Class = "noscript"    // a script the server does not have and would not load
	ClassOther       Class = "other"       // anything else: a fault a retry would repeat
)

// ClassHelp says what the classes mean for HTTP callers, for metric help texts.
const ClassHelp = "connection, timeout, oom, readonly, busy, loading, masterdown, noreplicas, clusterdown, tryagain " +
	"(answered 503 with Retry-After); noperm, wrongpass, noscript (500, and not ready); other (500)."

// Classes lists every Class, for metrics that create their series up front.
func Classes() []Class {
	return []Class{
		ClassConnection, ClassTimeout, ClassOOM, ClassReadOnly, ClassBusy, ClassLoading, ClassMasterDown,
		ClassNoReplicas, ClassClusterDown, ClassTryAgain, ClassNoPerm, ClassWrongPass, ClassNoScript, ClassOther,
	}
}

// Retryable reports whether a later call may succeed with nothing changed
// by an operator: the server is away, busy, full or failing over.
func (c Class) Retryable() bool {
	switch c {
	case ClassNoPerm, ClassWrongPass, ClassNoScript, ClassOther:
		return false
	}
	return c != ""
}

// Misconfigured reports whether only an operator can fix c (permissions,
// credentials, scripts).
func (c Class) Misconfigured() bool {
	return c == ClassNoPerm || c == ClassWrongPass || c == ClassNoScript
}

// Error is a failed broker call with its class. errors.Is(err,
// ErrUnavailable) holds for the retry-later classes and errors.Is(err,
// ErrMisconfigured) for the configuration ones, so callers that only need
// the HTTP answer never look at the class.
type Error struct {
	Class Class
	Err   error // the underlying error (the server's reply, a network error)
}

func (e *Error) Error() string { return "redis " + string(e.Class) + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Is matches ErrUnavailable and ErrMisconfigured by class.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return e.Class.Retryable()
	case ErrMisconfigured:
		return e.Class.Misconfigured()
	}
	return false
}

// ClassOf returns the class of a failed broker call, "" when err carries
// none (nil, or an error that did not come from the broker).
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}
