package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// slotCount is the number of hash slots of a Redis Cluster.
const slotCount = 16384

// slotsTimeout bounds asking one node for CLUSTER SLOTS.
const slotsTimeout = time.Second

// topicSlot is the hash slot of topic's channel, stream and idempotency
// keys: CRC16 (XMODEM) of the topic name modulo 16384. Every key of a topic
// carries the hash tag {topic}, and a topic name cannot contain braces, so
// the name itself is what Redis hashes (Redis Cluster specification, "Key
// distribution model" and "Hash tags").
func topicSlot(topic string) int {
	var crc uint16
	for i := 0; i < len(topic); i++ {
		crc ^= uint16(topic[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc % slotCount)
}

// slotRange is one line of CLUSTER SLOTS: slots start..end (inclusive)
// served by the primary at addr.
type slotRange struct {
	start, end int
	addr       string
}

// slotTable says which primary serves which slot, as the cluster last
// told us; sorted by start. The zero value knows no slot.
type slotTable []slotRange

// owner returns the primary serving slot, "" when unknown.
func (t slotTable) owner(slot int) string {
	i := sort.Search(len(t), func(i int) bool { return t[i].end >= slot })
	if i < len(t) && t[i].start <= slot {
		return t[i].addr
	}
	return ""
}

// primaries returns every primary address once, in table order.
func (t slotTable) primaries() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range t {
		if !seen[r.addr] {
			seen[r.addr] = true
			out = append(out, r.addr)
		}
	}
	return out
}

// parseSlots decodes a CLUSTER SLOTS reply: [[start, end, [host, port,
// id, ...], replica...], ...]. A primary announced without a host ("" or
// "?", Redis's "unknown endpoint") is reached at fallbackHost, the host of
// the node that answered.
func parseSlots(reply []rueidis.RedisMessage, fallbackHost string) (slotTable, error) {
	table := make(slotTable, 0, len(reply))
	for _, e := range reply {
		f, err := e.ToArray()
		if err != nil {
			return nil, fmt.Errorf("CLUSTER SLOTS: bad entry: %w", err)
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("CLUSTER SLOTS: entry of %d elements", len(f))
		}
		start, err1 := f[0].AsInt64()
		end, err2 := f[1].AsInt64()
		primary, err3 := f[2].ToArray()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("CLUSTER SLOTS: bad entry: %w", err)
		}
		if len(primary) < 2 {
			return nil, fmt.Errorf("CLUSTER SLOTS: primary of %d elements", len(primary))
		}
		host, _ := primary[0].ToString()
		port, err := primary[1].AsInt64()
		if err != nil {
			return nil, fmt.Errorf("CLUSTER SLOTS: bad port: %w", err)
		}
		if host == "" || host == "?" {
			host = fallbackHost
		}
		table = append(table, slotRange{start: int(start), end: int(end), addr: net.JoinHostPort(host, strconv.FormatInt(port, 10))})
	}
	if len(table) == 0 {
		return nil, errors.New("CLUSTER SLOTS: no slot is served")
	}
	sort.Slice(table, func(i, j int) bool { return table[i].start < table[j].start })
	return table, nil
}

// clusterSlots asks the cluster which primary serves which slot. It asks
// the nodes the cluster client knows in random order and takes the first
// answer, so one dead node (a failed primary) does not stop it.
func clusterSlots(ctx context.Context, client rueidis.Client) (slotTable, error) {
	nodes := client.Nodes()
	addrs := make([]string, 0, len(nodes))
	for addr := range nodes {
		addrs = append(addrs, addr)
	}
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	var errs []error
	for _, addr := range addrs {
		node := nodes[addr]
		// Bounded per node: the node client retries a read-only command
		// until its context ends, and a failed primary never answers.
		nctx, cancel := context.WithTimeout(ctx, slotsTimeout)
		reply, err := node.Do(nctx, node.B().ClusterSlots().Build()).ToArray()
		cancel()
		if err == nil {
			host, _, _ := net.SplitHostPort(addr)
			var table slotTable
			if table, err = parseSlots(reply, host); err == nil {
				return table, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("learn cluster slots: %w", errors.Join(append(errs, errors.New("no node answered"))...))
}

// slotState is what the subscriber knows of a cluster's slot ownership.
// Guarded by subscriber.mu, except client, which is fixed.
type slotState struct {
	client rueidis.Client // the cluster client: asked for CLUSTER SLOTS
	table  slotTable      // primary per slot as last learned; nil = unknown
	stale  bool           // ask for slot ownership again
}

// invalidate has ownership learned again (a no-op off a cluster, s nil).
func (s *slotState) invalidate() {
	if s != nil {
		s.stale = true
	}
}

// unknown reports whether ownership must be learned (again) before routing
// can trust it; false off a cluster (s nil).
func (s *slotState) unknown() bool { return s != nil && (s.stale || s.table == nil) }

// clusterNodes is what the cluster topologies share: slot ownership, and a
// client of their own per node session.
type clusterNodes struct {
	slotState
	nodeOpt rueidis.ClientOption // template of the per-node session clients
}

func (c *clusterNodes) slots() *slotState { return &c.slotState }

// dial makes a client to the one node at addr.
func (c *clusterNodes) dial(addr string) (rueidis.Client, bool, error) {
	opt := c.nodeOpt
	opt.InitAddress = []string{addr}
	client, err := rueidis.NewClient(opt)
	return client, true, err
}
