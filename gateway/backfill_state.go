package gateway

import (
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// This file holds a backfill's decisions as pure functions of its state and
// what it read, so each can be table-tested without Redis, a hub or a
// goroutine (backfill_state_test.go). backfill.go applies them.

// backfillPhase is where a backfill is in the topic's history.
type backfillPhase uint8

const (
	// following: reading after the hub's last dispatched ID, which the
	// cursor follows (live messages may have advanced it).
	following backfillPhase = iota
	// judging: the topic's history was lost (and may have been recreated);
	// reading the new one from its start, whose first page decides whether
	// its IDs can follow the ones dispatched before the loss.
	judging
	// walking: reading a recreated history from its start, after a first
	// page that follows the old IDs. Its IDs may all be older than what was
	// dispatched before the loss, so the cursor no longer follows the hub.
	walking
)

func (p backfillPhase) String() string {
	switch p {
	case following:
		return "following"
	case judging:
		return "judging"
	case walking:
		return "walking"
	}
	return "unknown"
}

// backfillState is what a backfill knows between two history reads.
type backfillState struct {
	phase  backfillPhase
	cursor streamid.ID // where the next read starts
	before streamid.ID // judging, walking: the last ID dispatched from the lost history
}

// pageAction is what a backfill does with a page it read.
type pageAction uint8

const (
	// deliver dispatches the page's entries and reads the next page.
	deliver pageAction = iota
	// deliverAndRelease dispatches the page's entries, the last ones
	// history holds, and tries to release the hold.
	deliverAndRelease
	// skip drops the page: the topic was rebased on a new history; read
	// again from the new position.
	skip
	// giveUp abandons the hold and disconnects the topic's clients: more
	// was missed than history keeps. The backfill ends.
	giveUp
)

func (a pageAction) String() string {
	switch a {
	case deliver:
		return "deliver"
	case deliverAndRelease:
		return "deliverAndRelease"
	case skip:
		return "skip"
	case giveUp:
		return "giveUp"
	}
	return "unknown"
}

// follow moves the cursor to last, the hub's last dispatched ID, when it
// is newer and the backfill follows the hub.
func (s backfillState) follow(last streamid.ID) backfillState {
	if s.phase == following && s.cursor.Less(last) {
		s.cursor = last
	}
	return s
}

// restart reports whether page says that the topic's history is gone and
// may have been recreated (Redis restarted without persistence, FLUSHALL,
// the key deleted, a failover that lost its tail), and returns the state
// that reads the new history from its start: everything it holds was
// published after the loss, while the live feed was down, and is
// delivered rather than disconnecting the topic's clients, if its IDs
// allow (judging). Only once per backfill: a recreated history that is
// lost again is given up.
func (s backfillState) restart(page broker.Page) (backfillState, bool) {
	if s.phase != following || !page.Lost || page.Reason != "unknown_stream" {
		return s, false
	}
	return backfillState{phase: judging, cursor: streamid.Zero, before: s.cursor}, true
}

// onPage decides what to do with page, read at s.cursor, and returns the
// state after it; rebase says that the topic must first be rebased on the
// new history at page.Last (its clients disconnected).
//
// A judged page that diverged (the new history's IDs are not all after
// the old ones: a Redis clock behind the lost one's, or a lost tail)
// cannot follow the old events on a stream, and its events must not be
// dropped as duplicates: the clients resume (and are told with a reset)
// and the topic goes on from the new history's end.
func (s backfillState) onPage(page broker.Page, limit int) (next backfillState, act pageAction, rebase bool) {
	next = s
	if s.phase == judging {
		if diverged(page, s.before) {
			rebase = true
			if !page.Lost {
				return backfillState{phase: following, cursor: page.Last}, skip, true
			}
		}
		next.phase = walking
	}
	switch {
	case page.Lost:
		return next, giveUp, rebase
	case len(page.Entries) == limit:
		return next, deliver, rebase
	default:
		return next, deliverAndRelease, rebase
	}
}

// diverged reports whether page, the start of a history that replaced a
// lost one, cannot continue streams positioned at before (the last ID
// dispatched from the lost history): it holds, or will give new events, IDs
// that are not after before.
func diverged(page broker.Page, before streamid.ID) bool {
	switch {
	case page.Lost: // trimmed already: the clients are disconnected anyway
		return !before.Less(page.Last)
	case len(page.Entries) > 0:
		return !before.Less(page.Entries[0].ID)
	default: // nothing yet: what will the next event's ID be?
		return !page.Next.IsZero() && !before.Less(page.Next)
	}
}

// Backoff of a backfill whose history read failed.
const (
	backfillRetryFirst = 50 * time.Millisecond
	backfillRetryMax   = 2 * time.Second
)

// nextRetry is the wait after a failed read that followed a wait of d.
func nextRetry(d time.Duration) time.Duration { return min(d*2, backfillRetryMax) }

// retrigger decides, when a backfill ends without having released its
// hold, whether a new one must start: a refill that found this one
// running skipped starting its own (the topic may even have been closed
// and opened again meanwhile), so a topic left holding would keep its live
// messages for ever. Not when the feed stops.
func retrigger(stopping, holding bool) bool { return !stopping && holding }
