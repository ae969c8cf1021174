package redisbroker

import "testing"

// TestTopicStateTransitions checks every transition of every state against
// the table in topicState's doc.
func TestTopicStateTransitions(t *testing.T) {
	t.Parallel()
	type confirmed struct {
		next    topicState
		gap, ok bool
	}
	for _, tc := range []struct {
		from          topicState
		onWire, await bool
		sent          topicState
		confirm       confirmed
		lose, drop    topicState
	}{
		{unsubscribed, false, false, subscribing, confirmed{unsubscribed, false, false}, unsubscribed, unsubscribed},
		{subscribing, true, true, subscribing, confirmed{subscribed, false, true}, unsubscribed, unsubscribed},
		{subscribed, true, false, subscribed, confirmed{subscribed, false, false}, lapsed, unsubscribed},
		{lapsed, false, false, resubscribing, confirmed{lapsed, false, false}, lapsed, unsubscribed},
		{resubscribing, true, true, resubscribing, confirmed{subscribed, true, true}, lapsed, unsubscribed},
	} {
		t.Run(tc.from.String(), func(t *testing.T) {
			t.Parallel()
			if got := tc.from.onWire(); got != tc.onWire {
				t.Errorf("onWire = %v, want %v", got, tc.onWire)
			}
			if got := tc.from.awaiting(); got != tc.await {
				t.Errorf("awaiting = %v, want %v", got, tc.await)
			}
			if got := tc.from.sent(); got != tc.sent {
				t.Errorf("sent → %v, want %v", got, tc.sent)
			}
			next, gap, ok := tc.from.confirm()
			if got := (confirmed{next, gap, ok}); got != tc.confirm {
				t.Errorf("confirm → %+v, want %+v", got, tc.confirm)
			}
			if got := tc.from.lose(); got != tc.lose {
				t.Errorf("lose → %v, want %v", got, tc.lose)
			}
			if got := tc.from.drop(); got != tc.drop {
				t.Errorf("drop → %v, want %v", got, tc.drop)
			}
		})
	}
}

// TestTopicLifecycle walks a topic record through a subscription, a loss,
// the re-subscription that reports the gap, and an unsubscribe: ready is
// closed exactly while the topic is subscribed, and a loss unroutes it.
func TestTopicLifecycle(t *testing.T) {
	t.Parallel()
	tp := newTopic()
	tp.node = "n1"
	isReady := func() bool {
		select {
		case <-tp.ready:
			return true
		default:
			return false
		}
	}
	steps := []struct {
		name  string
		do    func() (gap, ok bool)
		want  topicState
		gap   bool
		ready bool
	}{
		{"sent", func() (bool, bool) { tp.sent(); return false, true }, subscribing, false, false},
		{"confirm", tp.confirm, subscribed, false, true},
		{"confirm again", func() (bool, bool) { _, ok := tp.confirm(); return false, !ok }, subscribed, false, true},
		{"lose", func() (bool, bool) { tp.lose(); return false, true }, lapsed, false, false},
		{"resent", func() (bool, bool) { tp.sent(); return false, true }, resubscribing, false, false},
		{"reconfirm", tp.confirm, subscribed, true, true},
		{"drop", func() (bool, bool) { tp.drop(); return false, true }, unsubscribed, false, false},
		{"sent after drop", func() (bool, bool) { tp.sent(); return false, true }, subscribing, false, false},
		{"confirm after drop", tp.confirm, subscribed, false, true},
	}
	for _, st := range steps {
		gap, ok := st.do()
		if !ok || gap != st.gap || tp.state != st.want || isReady() != st.ready {
			t.Fatalf("%s: state %v gap %v ok %v ready %v; want %v gap %v ready %v",
				st.name, tp.state, gap, ok, isReady(), st.want, st.gap, st.ready)
		}
	}
	if tp.lose(); tp.node != "" {
		t.Errorf("lose left the topic routed to %q", tp.node)
	}
}
