package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// fillTopics is how many topics the memory filler writes to.
const fillTopics = 8

// TestEvictedHistory: Redis runs with a small maxmemory and
// `maxmemory-policy allkeys-lru`, and evicts topic histories to make room
// for 4 KB events published on other topics. A client resuming from a
// position in an evicted history gets `event: reset` (unknown_stream) and
// then live events, never a silent gap; clients connected through the
// evictions (single and multi-topic) get every event of the topic exactly
// once, in order, also while its history is evicted and recreated again and
// again under them.
func TestEvictedHistory(t *testing.T) {
	const victim, quiet = "ev:victim", "ev:zquiet" // sorted: the order of id parts
	srv, p, g := startStack(t)
	live := harness.Subscribe(t, streamURL(g, victim), nil)
	multi := harness.Subscribe(t, streamURL(g, victim, quiet), nil)
	published := p.publishSeq(t, victim, 0, 3)
	sameIDs(t, "before the eviction", eventIDs(collect(t, live, 3)), published)
	// 1 MB over what Redis holds now: a few hundred 4 KB events.
	used, err := strconv.Atoi(infoValue(t, srv, "memory", "used_memory"))
	if err != nil {
		t.Fatalf("INFO memory used_memory: %v", err)
	}
	srv.Do(t, "CONFIG", "SET", "maxmemory", strconv.Itoa(used+1<<20))
	srv.Do(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	p.pad = strings.Repeat("x", 4096)

	// The victim is idle while other topics fill memory: the LRU evicts it.
	for batch := 0; srv.Do(t, "EXISTS", redisbroker.StreamKey(victim)) == "1"; batch++ {
		if batch == 40 {
			t.Fatal("the victim's history was not evicted after 40 batches of fill events")
		}
		for i := range fillTopics {
			p.publishConcurrently(t, fmt.Sprintf("ev:fill%d", i), batch*10, 10, 4, nil)
		}
	}
	early := harness.Subscribe(t, streamURL(g, victim), resumeFrom(published[1]))
	expectReset(t, "resumed from an evicted history", early, victim)

	// The victim is published to while the fill goes on and its history
	// is evicted and recreated under the open streams.
	churn := publishDuringFill(t, srv, p, victim, len(published))
	published = append(published, churn...)
	sameIDs(t, "connected through the evictions", eventIDs(collect(t, live, len(churn))), churn)
	checkPerTopic(t, "multi-topic, connected through the evictions", []string{victim, quiet},
		collect(t, multi, len(published)), map[string][]string{victim: published})
	sameIDs(t, "resumed after a reset", eventIDs(collect(t, early, len(churn))), churn)

	late := harness.Subscribe(t, streamURL(g, victim), resumeFrom(published[1]))
	expectReset(t, "resumed from an evicted history, recreated since", late, victim)
	last := p.publishSeq(t, victim, 9000, 1)
	for name, s := range map[string]*harness.Stream{"live": live, "early": early, "late": late} {
		sameIDs(t, name+", after it all", eventIDs(collect(t, s, 1)), last)
	}
	if n := harness.Metric(t, g.Registry, "ssegate_gateway_connections_closed_total", "reason", "error"); n != 0 {
		t.Fatalf("connections_closed_total{reason=error} = %v: evictions must not disconnect live clients", n)
	}
	t.Logf("Redis evicted %s keys; the victim got %d events while its history was evicted under it",
		infoValue(t, srv, "stats", "evicted_keys"), len(churn))
}

// expectReset fails the test unless the next event on s is a reset
// (unknown_stream) of topic.
func expectReset(t testing.TB, what string, s *harness.Stream, topic string) {
	t.Helper()
	ev := s.MustNext(t, waitFor)
	var rd resetData
	if err := json.Unmarshal([]byte(ev.Data), &rd); err != nil || ev.Name != "reset" ||
		rd.Reason != "unknown_stream" || len(rd.Topics) != 1 || rd.Topics[0] != topic {
		t.Fatalf("%s: first event %+v, want a reset (unknown_stream) of %s", what, ev, topic)
	}
}

// publishDuringFill publishes events from..on topic one after another
// while other goroutines fill Redis's memory, until Redis has evicted
// topic's history under them three times (bounded), and returns their ids.
func publishDuringFill(t testing.TB, srv *redistest.Server, p *pub, topic string, from int) []string {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, fillTopics)
	for i := range fillTopics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1000; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := p.post(context.Background(), payload{Topic: fmt.Sprintf("ev:fill%d", i), I: n}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stopFill := sync.OnceFunc(func() { close(stop); wg.Wait(); close(errs) })
	defer stopFill()
	var ids []string
	losses, held := 0, xlen(t, srv, topic)
	for i := from; losses < 3 && i < from+1000; i++ {
		id, _, err := p.post(context.Background(), payload{Topic: topic, I: i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		n := xlen(t, srv, topic)
		if n <= held { // the history lost what it held
			losses++
		}
		held = n
	}
	stopFill()
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		t.Fatalf("filling memory: %v", err)
	}
	if losses < 3 {
		t.Fatalf("the history of %s was evicted %d times during %d publishes, want 3", topic, losses, len(ids))
	}
	return ids
}

// xlen is the length of topic's history (0 when it does not exist).
func xlen(t testing.TB, srv *redistest.Server, topic string) int {
	t.Helper()
	n, err := strconv.Atoi(srv.Do(t, "XLEN", redisbroker.StreamKey(topic)))
	if err != nil {
		t.Fatalf("XLEN %s: %v", topic, err)
	}
	return n
}

// infoValue is one field of an INFO section.
func infoValue(t testing.TB, srv *redistest.Server, section, field string) string {
	t.Helper()
	for line := range strings.SplitSeq(srv.Do(t, "INFO", section), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}
