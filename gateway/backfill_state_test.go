package gateway

import (
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// entries returns history entries with the given IDs (ms, sequence 0).
func entries(ids ...uint64) []broker.Entry {
	var out []broker.Entry
	for _, id := range ids {
		out = append(out, broker.Entry{ID: sid(id)})
	}
	return out
}

// TestDiverged pins when a history that replaced a lost one cannot continue
// streams positioned at the lost history's last ID (100-0).
func TestDiverged(t *testing.T) {
	t.Parallel()
	before := sid(100)
	tests := []struct {
		name string
		page broker.Page
		want bool
	}{
		{"new events after the old ones", broker.Page{Entries: entries(101, 102), Last: sid(102), Next: sid(103)}, false},
		{"new events behind the old ones", broker.Page{Entries: entries(50, 60), Last: sid(60), Next: sid(61)}, true},
		{"new events around the old position", broker.Page{Entries: entries(90, 110), Last: sid(110), Next: sid(111)}, true},
		{"same ID as the old position", broker.Page{Entries: entries(100), Last: sid(100), Next: sid(101)}, true},
		{"empty, clock after the old IDs", broker.Page{Next: sid(200)}, false},
		{"empty, clock behind the old IDs", broker.Page{Next: sid(80)}, true},
		{"empty, clock unknown", broker.Page{}, false},
		{"trimmed, newest after the old IDs", broker.Page{Lost: true, Reason: "trimmed", Last: sid(150), Next: sid(151)}, false},
		{"trimmed, newest behind the old IDs", broker.Page{Lost: true, Reason: "trimmed", Last: sid(90), Next: sid(300)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := diverged(tt.page, before); got != tt.want {
				t.Fatalf("diverged = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBackfillFollow: the cursor follows the hub's last dispatched ID only
// while the backfill reads the topic's own history, and never goes back.
func TestBackfillFollow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state backfillState
		last  streamid.ID
		want  streamid.ID
	}{
		{"following, hub ahead", backfillState{phase: following, cursor: sid(5)}, sid(9), sid(9)},
		{"following, hub behind", backfillState{phase: following, cursor: sid(5)}, sid(3), sid(5)},
		{"following, same", backfillState{phase: following, cursor: sid(5)}, sid(5), sid(5)},
		{"judging ignores the hub", backfillState{phase: judging, before: sid(100)}, sid(100), streamid.Zero},
		{"walking ignores the hub", backfillState{phase: walking, cursor: sid(7), before: sid(100)}, sid(100), sid(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.state.follow(tt.last)
			if got.cursor != tt.want || got.phase != tt.state.phase || got.before != tt.state.before {
				t.Fatalf("follow = %+v, want cursor %v and the rest unchanged", got, tt.want)
			}
		})
	}
}

// TestBackfillRestart: a history found lost and maybe recreated is read
// again from its start, once, remembering what was sent before the loss.
func TestBackfillRestart(t *testing.T) {
	t.Parallel()
	unknown := broker.Page{Lost: true, Reason: "unknown_stream", Last: sid(3)}
	tests := []struct {
		name      string
		state     backfillState
		page      broker.Page
		want      backfillState
		restarted bool
	}{
		{"unknown stream while following", backfillState{phase: following, cursor: sid(100)}, unknown,
			backfillState{phase: judging, cursor: streamid.Zero, before: sid(100)}, true},
		{"trimmed is not a restart", backfillState{phase: following, cursor: sid(100)}, broker.Page{Lost: true, Reason: "trimmed"},
			backfillState{phase: following, cursor: sid(100)}, false},
		{"a page that is not lost", backfillState{phase: following, cursor: sid(100)}, broker.Page{Entries: entries(101)},
			backfillState{phase: following, cursor: sid(100)}, false},
		{"lost again while judging", backfillState{phase: judging, before: sid(100)}, unknown,
			backfillState{phase: judging, before: sid(100)}, false},
		{"lost again while walking", backfillState{phase: walking, cursor: sid(120), before: sid(100)}, unknown,
			backfillState{phase: walking, cursor: sid(120), before: sid(100)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, restarted := tt.state.restart(tt.page)
			if got != tt.want || restarted != tt.restarted {
				t.Fatalf("restart = %+v %v, want %+v %v", got, restarted, tt.want, tt.restarted)
			}
		})
	}
}

// TestBackfillOnPage pins what a backfill does with each page it reads: the
// state after it, its action, and whether the topic is rebased first.
func TestBackfillOnPage(t *testing.T) {
	t.Parallel()
	const limit = 2
	judge := backfillState{phase: judging, before: sid(100)}
	follow := backfillState{phase: following, cursor: sid(10)}
	walk := backfillState{phase: walking, cursor: sid(101), before: sid(100)}
	tests := []struct {
		name   string
		state  backfillState
		page   broker.Page
		want   backfillState
		act    pageAction
		rebase bool
	}{
		{"following, last page", follow, broker.Page{Entries: entries(11), Last: sid(11)}, follow, deliverAndRelease, false},
		{"following, empty page", follow, broker.Page{Last: sid(10)}, follow, deliverAndRelease, false},
		{"following, full page", follow, broker.Page{Entries: entries(11, 12), Last: sid(20)}, follow, deliver, false},
		{"following, trimmed", follow, broker.Page{Lost: true, Reason: "trimmed", Last: sid(50)}, follow, giveUp, false},
		{"judging, follows the old IDs", judge, broker.Page{Entries: entries(101), Last: sid(101), Next: sid(102)}, walk.withCursor(streamid.Zero), deliverAndRelease, false},
		{"judging, full page after the old IDs", judge, broker.Page{Entries: entries(101, 102), Last: sid(150)}, walk.withCursor(streamid.Zero), deliver, false},
		{"judging, empty, clock after", judge, broker.Page{Next: sid(200)}, walk.withCursor(streamid.Zero), deliverAndRelease, false},
		{"judging, behind the old IDs", judge, broker.Page{Entries: entries(50, 60), Last: sid(60), Next: sid(61)},
			backfillState{phase: following, cursor: sid(60)}, skip, true},
		{"judging, empty, clock behind", judge, broker.Page{Last: sid(70), Next: sid(80)},
			backfillState{phase: following, cursor: sid(70)}, skip, true},
		{"judging, trimmed behind the old IDs", judge, broker.Page{Lost: true, Reason: "trimmed", Last: sid(90)}, walk.withCursor(streamid.Zero), giveUp, true},
		{"judging, trimmed after the old IDs", judge, broker.Page{Lost: true, Reason: "trimmed", Last: sid(150)}, walk.withCursor(streamid.Zero), giveUp, false},
		{"walking is not judged again", walk, broker.Page{Entries: entries(50), Last: sid(50)}, walk, deliverAndRelease, false},
		{"walking, lost", walk, broker.Page{Lost: true, Reason: "unknown_stream"}, walk, giveUp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, act, rebase := tt.state.onPage(tt.page, limit)
			if got != tt.want || act != tt.act || rebase != tt.rebase {
				t.Fatalf("onPage = %+v %v rebase=%v, want %+v %v rebase=%v", got, act, rebase, tt.want, tt.act, tt.rebase)
			}
		})
	}
}

func (s backfillState) withCursor(c streamid.ID) backfillState {
	s.cursor = c
	return s
}

// TestBackfillRetry: a failing read is retried with a doubling backoff,
// capped.
func TestBackfillRetry(t *testing.T) {
	t.Parallel()
	var got []time.Duration
	for d := backfillRetryFirst; len(got) < 8; d = nextRetry(d) {
		got = append(got, d)
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
}

// TestBackfillRetrigger: a backfill that ends without releasing its hold
// starts another when the topic still holds, unless the feed stops.
func TestBackfillRetrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stopping, holding, want bool
	}{
		{false, true, true},
		{false, false, false},
		{true, true, false},
		{true, false, false},
	}
	for _, tt := range tests {
		if got := retrigger(tt.stopping, tt.holding); got != tt.want {
			t.Errorf("retrigger(stopping=%v, holding=%v) = %v, want %v", tt.stopping, tt.holding, got, tt.want)
		}
	}
}
