package redisbroker

import "github.com/redis/rueidis"

// The pub/sub hooks run on a session connection's reader goroutine, in
// order with the messages. They must not block: a reply to any command on
// the connection waits for them (see the lock order in the package doc).

// onMessage hands a message to the sink, without taking s.mu.
func (s *subscriber) onMessage(m rueidis.PubSubMessage) {
	if sink := s.live.Load(); sink != nil && *sink != nil {
		(*sink).Message(m.Channel, []byte(m.Message))
	}
}

// onSubscription takes note of Redis confirming or dropping a subscription
// on se's connection. Running in order with the messages is what lets the
// sink hold back live messages from exactly the moment a re-subscription
// took effect.
func (s *subscriber) onSubscription(se *session, sub rueidis.PubSubSubscription) {
	switch sub.Kind {
	case "subscribe", "ssubscribe":
		s.confirmed(se, sub.Channel)
	case "sunsubscribe", "unsubscribe":
		s.dropped(se, sub.Channel)
	}
}

// confirmed records Redis's confirmation of topic on se's connection and
// tells the sink when it follows a loss (messages may be missing).
func (s *subscriber) confirmed(se *session, name string) {
	s.mu.Lock()
	t := s.topics[name]
	if s.sessions[se.addr] != se || t == nil || t.node != se.addr {
		s.mu.Unlock()
		return // a late notice from a connection already replaced
	}
	gap, ok := t.confirm()
	sink := s.sink
	s.mu.Unlock()
	if ok && gap && sink != nil {
		sink.Resubscribed(name)
	}
}

// dropped handles Redis unsubscribing topic on its own: it drops sharded
// subscriptions when a slot migrates to another node. A topic still wanted
// is routed again (in a cluster once slot ownership is learned again) and
// subscribed there; its confirmation reports the gap. The notices of our
// own UNSUBSCRIBE find the topic unwanted or unconfirmed and change
// nothing.
func (s *subscriber) dropped(se *session, name string) {
	s.mu.Lock()
	t := s.topics[name]
	if s.sessions[se.addr] != se || t == nil || t.node != se.addr || !t.wanted || t.state != subscribed {
		s.mu.Unlock()
		return
	}
	t.lose()
	se.topo.slots().invalidate()
	s.mu.Unlock()
	s.log.Info("redis dropped a subscription; subscribing again", "topic", name, "node", se.addr)
	poke(s.kick)
}
