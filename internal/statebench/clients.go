package statebench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// errBadState is wrapped when a client's state does not match the seed.
var errBadState = errors.New("wrong state")

// clientResult is what one client saw until its marker.
type clientResult struct {
	headers time.Duration // release → response headers
	marker  time.Duration // release → marker received
	events  int           // events before the marker
	bytes   int64         // stream bytes until the marker
	err     error
}

// marker is the data of `event: state`.
type marker struct {
	Position string `json:"position"`
	Keys     int    `json:"keys"`
}

// streamURL is the state stream of topic on the gateway at base.
func streamURL(base, topic string) string {
	return base + "/api/sse/stream?" + url.Values{"topic": {topic}, "state": {"1"}}.Encode()
}

// openAll starts n clients, releases them together, and waits until each
// has its marker (or failed). Durations count from the release.
func openAll(ctx context.Context, hc *http.Client, u string, n, keys int) []clientResult {
	results := make([]clientResult, n)
	release := make(chan struct{})
	var ready, wg sync.WaitGroup
	ready.Add(n)
	var start time.Time
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-release
			results[i] = readState(ctx, hc, u, start, keys)
		})
	}
	ready.Wait() // every goroutine is parked on release
	start = time.Now()
	close(release)
	wg.Wait()
	return results
}

// readState opens one state stream and reads it until the marker.
func readState(ctx context.Context, hc *http.Client, u string, start time.Time, keys int) clientResult {
	var r clientResult
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream once the marker is in
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		r.err = err
		return r
	}
	resp, err := hc.Do(req)
	if err != nil {
		r.err = fmt.Errorf("open stream: %w", err)
		return r
	}
	defer resp.Body.Close()
	r.headers = time.Since(start)
	if resp.StatusCode != http.StatusOK {
		r.err = fmt.Errorf("open stream: %s", resp.Status)
		return r
	}
	m, err := scanToMarker(bufio.NewReaderSize(resp.Body, 64<<10), &r)
	r.marker = time.Since(start)
	switch {
	case err != nil:
		r.err = err
	case m.Keys != keys || r.events != keys:
		r.err = fmt.Errorf("%w: marker says %d keys after %d events, want %d", errBadState, m.Keys, r.events, keys)
	}
	return r
}

// scanToMarker reads SSE lines (WHATWG HTML §9.2.6; the gateway ends lines
// with LF) until the `event: state` event is dispatched, counting the data
// events before it.
func scanToMarker(br *bufio.Reader, r *clientResult) (marker, error) {
	var name, data []byte
	hasData := false
	for {
		line, err := br.ReadSlice('\n')
		r.bytes += int64(len(line))
		if err != nil {
			return marker{}, fmt.Errorf("stream ended after %d events: %w", r.events, err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case len(line) == 0:
			if string(name) == "state" {
				var m marker
				if err := json.Unmarshal(data, &m); err != nil {
					return m, fmt.Errorf("%w: marker %q: %w", errBadState, data, err)
				}
				return m, nil
			}
			if hasData {
				r.events++
			}
			name, data, hasData = name[:0], data[:0], false
		case bytes.HasPrefix(line, []byte("event:")):
			name = append(name[:0], bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("event:")), []byte(" "))...)
		case bytes.HasPrefix(line, []byte("data:")):
			hasData = true
			data = append(data[:0], bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))...)
		}
	}
}
