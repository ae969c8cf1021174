package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/ssegate/ssegate/client"
)

// tailOptions are tail's flags.
type tailOptions struct {
	url, from, token string
	state, asJSON    bool
	n                int
}

// runTail prints a topic's events as they arrive, through the Go client
// (client.Subscription), which reconnects by itself and resumes from the
// last id it saw, so a gateway restart or a dropped connection loses
// nothing while tail runs.
func runTail(ctx context.Context, args []string, o IO) error {
	var opt tailOptions
	fs := newFlags("tail", "tail [flags] [topic ...]   (no topic: spools:updates)\n\n"+
		"Prints each event as it arrives, one line each: id, event name, data (tab-separated;\n"+
		"id \"-\" for an event without one, newlines in data written as \\n). Ctrl-C ends it.", o)
	fs.StringVar(&opt.url, "url", "http://localhost:8080", "the gateway's origin")
	fs.StringVar(&opt.from, "from", "", "resume after this Last-Event-ID (an event's id; 0-0 = the whole history)")
	fs.BoolVar(&opt.state, "state", false, "ask for the topic's state first (?state=1); needs a gateway that serves it")
	fs.BoolVar(&opt.asJSON, "json", false, `one JSON object per line: {"id","topic","event","data"}`)
	fs.IntVar(&opt.n, "n", 0, "stop after this many events (0 = until interrupted)")
	fs.StringVar(&opt.token, "token", o.getenv("SSEGATE_TOKEN"), "subscriber JWT (default $SSEGATE_TOKEN)")
	if err := parse(fs, args, o); err != nil {
		return err
	}
	if opt.n < 0 {
		return usageErrorf("-n %d: want 0 or more", opt.n)
	}
	sub, err := opt.subscribe(fs.Args())
	if err != nil {
		return err
	}
	defer sub.Close()
	for seen := 0; opt.n == 0 || seen < opt.n; seen++ {
		m, err := sub.Next(ctx)
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil // interrupted: the normal end of a tail
		}
		if err != nil {
			return fmt.Errorf("stream from %s: %w", opt.url, err)
		}
		if err := writeEvent(o.Stdout, m, opt.asJSON); err != nil {
			return err
		}
	}
	return nil
}

// subscribe makes the client's Subscription for the options and topics.
func (opt tailOptions) subscribe(topics []string) (*client.Subscription, error) {
	u, err := url.Parse(opt.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("-url %q: want http(s)://host[:port]", opt.url)
	}
	u = u.JoinPath("/api/sse/stream")
	if opt.state {
		u.RawQuery = "state=1"
	}
	var opts []client.Option
	if opt.from != "" {
		opts = append(opts, client.WithLastEventID(opt.from))
	}
	if opt.token != "" {
		opts = append(opts, client.WithToken(opt.token))
	}
	sub, err := client.Subscribe(u.String(), topics, opts...)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return sub, nil
}

// tailLine is an event as -json prints it. Data is the event's JSON when
// it is JSON (events published on /v1/events always are), else a string.
type tailLine struct {
	ID    string `json:"id"`
	Topic string `json:"topic,omitempty"`
	Event string `json:"event"`
	Data  any    `json:"data"`
}

// writeEvent prints one event.
func writeEvent(w io.Writer, m client.Message, asJSON bool) error {
	if asJSON {
		line := tailLine{ID: m.ID, Topic: m.Topic, Event: m.Type, Data: m.Data}
		if json.Valid([]byte(m.Data)) {
			line.Data = json.RawMessage(m.Data)
		}
		b, err := json.Marshal(line)
		if err != nil {
			return fmt.Errorf("encode event %q: %w", m.ID, err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	id := m.ID
	if id == "" {
		id = "-"
	}
	data := strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(m.Data)
	_, err := fmt.Fprintf(w, "%s\t%s\t%s\n", id, m.Type, data)
	return err
}
