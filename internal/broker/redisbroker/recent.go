package redisbroker

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// Recent returns topic's newest ID (last-generated-id) and up to limit of
// its newest entries, oldest first, in one atomic script run (the history
// script's "newest" mode): the gateway's position for a new topic and the
// start of its recent-events window. Whether positions before them are
// still resumable is not its concern (History decides that).
func (b *Broker) Recent(ctx context.Context, topic string, limit int) (broker.Page, error) {
	reply, err := b.exec(ctx, b.page, []string{StreamKey(topic)}, []string{"0-0", "+", strconv.Itoa(max(limit, 0)), "newest"})
	if err != nil {
		return broker.Page{}, err
	}
	if len(reply) != 4 && len(reply) != 8 {
		return broker.Page{}, fmt.Errorf("history script: unexpected reply of %d elements", len(reply))
	}
	lastText, _ := reply[0].ToString()
	if lastText == "" { // no such stream
		return broker.Page{}, nil
	}
	last, err := streamid.Parse(lastText)
	if err != nil {
		return broker.Page{}, fmt.Errorf("history script: %w", err)
	}
	page := broker.Page{Last: last}
	if limit <= 0 {
		return page, nil
	}
	raw, err := reply[2].ToArray()
	if err != nil {
		return broker.Page{}, fmt.Errorf("history script entries: %w", err)
	}
	if page.Entries, err = parseEntries(raw); err != nil {
		return broker.Page{}, err
	}
	slices.Reverse(page.Entries)
	return page, nil
}
