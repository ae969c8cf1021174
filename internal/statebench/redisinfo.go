package statebench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// commandStats reads INFO commandstats from the Redis at addr: calls per
// command (lower case, "xrange"; a subcommand as "client|setname"). It
// speaks RESP over one short connection so the tool adds nothing but this
// INFO to the counts.
func commandStats(ctx context.Context, addr string) (map[string]int64, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n"); err != nil {
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	br := bufio.NewReader(conn)
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	if !strings.HasPrefix(head, "$") {
		return nil, fmt.Errorf("redis %s: INFO answered %q", addr, strings.TrimSpace(head))
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("redis %s: INFO answered %q", addr, strings.TrimSpace(head))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	return parseCommandStats(string(body)), nil
}

// parseCommandStats reads lines "cmdstat_<name>:calls=N,usec=…".
func parseCommandStats(info string) map[string]int64 {
	out := map[string]int64{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for field := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					out[strings.TrimPrefix(name, "cmdstat_")] = n
				}
			}
		}
	}
	return out
}

// commandDelta is after − before per command, without the one INFO the
// tool sent to read before (which after counts), and zero rows left out.
func commandDelta(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for name, n := range after {
		if name == "info" {
			n--
		}
		if v := n - before[name]; v != 0 {
			d[name] = v
		}
	}
	return d
}
