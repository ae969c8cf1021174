package redisbroker

import (
	"fmt"
	"testing"
	"time"
)

// twoShards is a slot table of two primaries, a and b.
var twoShards = slotTable{{start: 0, end: 8191, addr: "a"}, {start: 8192, end: slotCount - 1, addr: "b"}}

func TestSingleTopologyRoutesEverythingToOneSession(t *testing.T) {
	t.Parallel()
	var topo topology = &singleTopology{}
	if addr, ok := topo.fixed(func(string) bool { return true }); !ok || addr != singleAddr {
		t.Errorf("fixed = %q, %v", addr, ok)
	}
	if addr, ok := topo.home("x"); !ok || addr != singleAddr {
		t.Errorf("home = %q, %v", addr, ok)
	}
	if !topo.shared() || topo.slots() != nil || topo.slots().unknown() {
		t.Error("single: want shared, no slots")
	}
	v := sessionView{need: map[string]bool{}, sessions: map[string]*session{}}
	if topo.healthy(v) {
		t.Error("healthy before routing")
	}
	v.need[singleAddr] = true
	v.sessions[singleAddr] = &session{up: true}
	if !topo.healthy(v) || !topo.healthyFor([]string{"x"}, v) {
		t.Error("not healthy with its session up")
	}
}

func TestClassicTopologyChoosesOnePrimary(t *testing.T) {
	t.Parallel()
	c := &classicTopology{}
	heldA := func(addr string) bool { return addr == "a" }
	if _, ok := c.fixed(heldA); ok {
		t.Fatal("chose a node before slot ownership is known")
	}
	if _, ok := c.home("x"); ok {
		t.Fatal("routed a topic before a node is chosen")
	}
	c.table = twoShards
	for range 20 { // random choice: never the held-back node while another is free
		c.node = ""
		if addr, ok := c.fixed(heldA); !ok || addr != "b" {
			t.Fatalf("fixed = %q, %v; want b", addr, ok)
		}
	}
	if addr, _ := c.home("x"); addr != "b" || !c.shared() {
		t.Errorf("home = %q; want every topic on b", addr)
	}
	c.ended("a")
	if c.node != "b" || !c.stale {
		t.Errorf("another node's end: node %q stale %v; want b, true", c.node, c.stale)
	}
	c.ended("b")
	if c.node != "" {
		t.Error("the chosen node ended and is still chosen")
	}
	all := func(string) bool { return true }
	if addr, ok := c.fixed(all); !ok || addr == "" {
		t.Error("no node chosen while all are held back")
	}
}

func TestShardedTopologyFollowsSlots(t *testing.T) {
	t.Parallel()
	s := &shardedTopology{}
	if _, ok := s.fixed(func(string) bool { return false }); ok || s.shared() {
		t.Error("sharded: sessions must follow the topics")
	}
	if _, ok := s.home("x"); ok {
		t.Error("routed before slot ownership is known")
	}
	s.table = twoShards
	topics := make([]string, 600)
	for i := range topics {
		topics[i] = fmt.Sprintf("t%d", i)
	}
	seen := 0
	for _, b := range s.batches(topics) {
		if len(b) == 0 || len(b) > subscribeBatch {
			t.Fatalf("batch of %d", len(b))
		}
		for _, topic := range b {
			if topicSlot(topic) != topicSlot(b[0]) {
				t.Fatalf("batch mixes slots %d and %d", topicSlot(b[0]), topicSlot(topic))
			}
		}
		seen += len(b)
	}
	if seen != len(topics) {
		t.Fatalf("batches hold %d topics, want %d", seen, len(topics))
	}
	var onA, onB string // a topic of each shard
	for _, topic := range topics {
		if addr, _ := s.home(topic); addr == "a" {
			onA = topic
		} else {
			onB = topic
		}
	}
	v := sessionView{need: map[string]bool{"a": true, "b": true}, sessions: map[string]*session{"a": {up: true}, "b": {up: false, reconnect: true}}}
	if s.healthy(v) || !s.healthyFor([]string{onA}, v) || s.healthyFor([]string{onA, onB}, v) || !s.healthyFor(nil, v) {
		t.Error("health of one shard down: want unhealthy overall, healthy for shard a's topics only, ready")
	}
	// Between a failed session and the next: down too.
	v = sessionView{need: map[string]bool{"a": true, "b": true}, sessions: map[string]*session{"a": {up: true}}, downSince: map[string]time.Time{"b": time.Now()}}
	if s.healthyFor([]string{onB}, v) {
		t.Error("shard b's session failed and none runs: want unhealthy for its topics")
	}
	// A shard's first subscription being set up (session not started yet,
	// or connecting) is not down: its streams wait for the subscription.
	for _, sessions := range []map[string]*session{{"a": {up: true}}, {"a": {up: true}, "b": {up: false}}} {
		v = sessionView{need: map[string]bool{"a": true, "b": true}, sessions: sessions}
		if !s.healthyFor([]string{onA, onB}, v) {
			t.Errorf("shard b's first session being set up (%d sessions): want healthy for its topics", len(sessions))
		}
	}
	if !s.healthy(sessionView{}) {
		t.Error("no topic wanted and slots known: want healthy")
	}
}
