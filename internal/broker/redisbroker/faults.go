package redisbroker

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
)

// Pacing of what failed calls leave behind.
const (
	// faultLogInterval is how often one class of failure is logged: the
	// first failure at once, then one line per interval with how many
	// were not logged, so a flood of refused requests is a trickle of lines.
	faultLogInterval = 30 * time.Second
	// faultHold is how long a configuration fault keeps the service not
	// ready when no call succeeds after it. A probe cannot tell by itself
	// that a permission came back (it would have to write an event), and
	// an unready service gets no calls: after the hold it is ready again,
	// takes calls, and the next refused one makes it unready once more.
	faultHold = 30 * time.Second
)

// faults records the broker's failed calls in one place: it classes each
// error (classOf), counts it through the observer, logs it once per class
// per faultLogInterval, and remembers the last configuration fault
// (NOPERM, WRONGPASS, NOSCRIPT) until a call succeeds or faultHold passes,
// for readiness.
type faults struct {
	log     *slog.Logger
	observe atomic.Pointer[func(broker.Class)] // nil: not counted

	mu     sync.Mutex
	logged map[broker.Class]time.Time // when the class was last logged
	muted  map[broker.Class]int       // failures not logged since
	fault  error                      // the last configuration fault, nil when none
	at     time.Time                  // when fault happened
}

func newFaults(log *slog.Logger) *faults {
	return &faults{log: log, logged: map[broker.Class]time.Time{}, muted: map[broker.Class]int{}}
}

// failed classes err from a call named op, records it and returns it
// wrapped: a *broker.Error, or a call the caller abandoned (no class).
func (f *faults) failed(op string, err error) error {
	err = wrapReply(err)
	class := broker.ClassOf(err)
	if class == "" {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	now := time.Now()
	f.mu.Lock()
	if class == broker.ClassConnection && broker.ClassOf(f.fault) == broker.ClassWrongPass && now.Sub(f.at) < faultHold {
		// A reconnect whose AUTH was refused leaves the commands queued
		// on it with EOF: the same cause, not Redis being away.
		class, err = broker.ClassWrongPass, &broker.Error{Class: broker.ClassWrongPass, Err: err}
	}
	if observe := f.observe.Load(); observe != nil {
		(*observe)(class)
	}
	if class.Misconfigured() {
		f.fault, f.at = err, now
	}
	muted := f.muted[class]
	due := now.Sub(f.logged[class]) >= faultLogInterval
	if due {
		f.logged[class], f.muted[class] = now, 0
	} else {
		f.muted[class]++
	}
	f.mu.Unlock()
	if due {
		f.logLine(op, class, err, muted)
	}
	return fmt.Errorf("redis %s: %w", op, err)
}

// logLine writes the line for one class: a warning for a retry-later
// condition, an error for a fault an operator must fix.
func (f *faults) logLine(op string, class broker.Class, err error, muted int) {
	attrs := []any{"class", string(class), "op", op, "err", err.Error(), "not_logged_since_last", muted}
	switch {
	case class.Misconfigured():
		f.log.Error("redis refuses ssegate's commands: fix the Redis ACL or configuration; not ready until a call succeeds", attrs...)
	case class.Retryable():
		f.log.Warn("redis call failed; answering 503 with Retry-After", attrs...)
	default:
		f.log.Error("redis call failed with an unexpected reply", attrs...)
	}
}

// succeeded clears a remembered configuration fault: a call went through.
func (f *faults) succeeded() {
	f.mu.Lock()
	if f.fault != nil {
		f.fault = nil
		f.log.Info("redis accepts ssegate's commands again")
	}
	f.mu.Unlock()
}

// current returns the remembered configuration fault (wrapping
// broker.ErrMisconfigured), or nil when there is none or it is older than
// faultHold.
func (f *faults) current() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fault == nil || time.Since(f.at) >= faultHold {
		return nil
	}
	return f.fault
}
