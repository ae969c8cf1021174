package statebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// event is the body of POST /v1/events.
type event struct {
	Topic string    `json:"topic"`
	Key   string    `json:"key,omitempty"`
	Data  eventData `json:"data"`
}

// eventData looks like a spool update, padded to the configured size.
type eventData struct {
	EventType string `json:"event_type"`
	Tag       string `json:"tag_spool"`
	Seq       int64  `json:"seq"`
	Pad       string `json:"pad,omitempty"`
}

// publisher posts events to one publisher URL.
type publisher struct {
	hc  *http.Client
	url string
	pad string
}

func newPublisher(hc *http.Client, url string, payload int) *publisher {
	return &publisher{hc: hc, url: url, pad: strings.Repeat("x", max(0, payload-80))}
}

// post publishes one event; key "" publishes it without a key.
func (p *publisher) post(ctx context.Context, topic, key string, seq int64) error {
	body, err := json.Marshal(event{Topic: topic, Key: key,
		Data: eventData{EventType: "TOMAR", Tag: key, Seq: seq, Pad: p.pad}})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("publish: %s %s", resp.Status, bytes.TrimSpace(raw))
	}
	return nil
}

// keyName is the i-th key of the state.
func keyName(i int) string { return fmt.Sprintf("SP-%06d", i) }

// seed publishes one keyed event for each of keys keys to topic, workers at
// a time, and returns the first error.
func (p *publisher) seed(ctx context.Context, topic string, keys, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= keys || ctx.Err() != nil {
					return
				}
				if err := p.post(ctx, topic, keyName(i), int64(i)); err != nil {
					cancel(fmt.Errorf("seed key %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
