package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ssegate/ssegate/client"
)

// publishOptions are publish's flags.
type publishOptions struct {
	url, token, key    string
	topic, event, data string
	stateKey           string
	delete, asJSON     bool
	attempts           int
}

// runPublish publishes one event from flags, or every JSON body on
// standard input, to POST /v1/events through the Go client
// (client.Publisher: retries with one Idempotency-Key per event).
func runPublish(ctx context.Context, args []string, o IO) error {
	var opt publishOptions
	fs := newFlags("publish", "publish [flags]\n\n"+
		"With -topic, publishes one event from the flags. Without, reads standard input: one\n"+
		"POST /v1/events body ({\"topic\",\"type\",\"data\",\"key\",\"delete\"}) or several, one after\n"+
		"another (newline-delimited); every body is checked before the first is sent. Prints each\n"+
		"event's id, one per line.", o)
	fs.StringVar(&opt.url, "url", "http://localhost:8081", "the publisher's origin (or an embedded gateway's)")
	fs.StringVar(&opt.token, "token", o.getenv("SSEGATE_TOKEN"), "publish token or JWT (default $SSEGATE_TOKEN)")
	fs.StringVar(&opt.topic, "topic", "", "the event's topic (without it, bodies are read from standard input)")
	fs.StringVar(&opt.event, "event", "", "the SSE event name (empty = message)")
	fs.StringVar(&opt.data, "data", "", "the event's data, one JSON value (required with -topic unless -delete)")
	fs.StringVar(&opt.stateKey, "key", "", "state key: the event becomes the key's latest in the topic's state")
	fs.BoolVar(&opt.delete, "delete", false, "remove -key from the topic's state (a tombstone)")
	fs.StringVar(&opt.key, "idempotency-key", "", "Idempotency-Key: a retry with the same key returns the first id; with several bodies, body n uses KEY-n")
	fs.IntVar(&opt.attempts, "attempts", 3, "tries per event on 5xx, 408, 429 or a connection error")
	fs.BoolVar(&opt.asJSON, "json", false, `print {"id","topic","receivers","replayed"} per event instead of the id`)
	if err := parse(fs, args, o); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q (the event is given by flags or on standard input)", fs.Args())
	}
	events, err := opt.events(o.Stdin)
	if err != nil {
		return err
	}
	pub, err := client.NewPublisher(opt.url, client.WithToken(opt.token), client.WithMaxAttempts(max(opt.attempts, 1)))
	if err != nil {
		return usageErrorf("%v", err)
	}
	for i, ev := range events {
		res, err := pub.Publish(ctx, ev)
		if err != nil {
			return fmt.Errorf("event %d of %d (%d published before it): %w", i+1, len(events), i, err)
		}
		if err := writeResult(o.Stdout, res, opt.asJSON); err != nil {
			return err
		}
	}
	return nil
}

// events returns the events to publish, from the flags or from stdin.
func (opt publishOptions) events(stdin io.Reader) ([]client.Event, error) {
	if opt.topic == "" {
		if opt.event != "" || opt.data != "" || opt.stateKey != "" || opt.delete {
			return nil, usageErrorf("-event, -data, -key and -delete need -topic (without it the bodies come from standard input)")
		}
		return readBodies(stdin, opt.key)
	}
	if opt.delete && opt.stateKey == "" {
		return nil, usageErrorf("-delete needs -key (the state key to remove)")
	}
	data := opt.data
	if data == "" && opt.delete {
		data = "null"
	}
	if data == "" {
		return nil, usageErrorf("-data is required with -topic: one JSON value, e.g. -data '{\"n\":1}' or -data '\"text\"'")
	}
	if !json.Valid([]byte(data)) {
		return nil, usageErrorf("-data %q is not JSON (a string needs quotes: -data '\"text\"')", data)
	}
	return []client.Event{{
		Topic: opt.topic, Type: opt.event, Data: json.RawMessage(data),
		Key: opt.stateKey, Delete: opt.delete, IdempotencyKey: opt.key,
	}}, nil
}

// body is a POST /v1/events body as read from standard input; the
// publisher validates it again, this only catches what would stop the
// input halfway.
type body struct {
	Topic  string          `json:"topic"`
	Type   string          `json:"type"`
	Data   json.RawMessage `json:"data"`
	Key    string          `json:"key"`
	Delete bool            `json:"delete"`
}

// readBodies decodes every JSON body on r. A body that is not JSON, has an
// unknown field, or lacks topic or data is a usage error naming it, and
// nothing is published.
func readBodies(r io.Reader, key string) ([]client.Event, error) {
	dec := json.NewDecoder(r)
	var events []client.Event
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, usageErrorf("standard input, body %d: %v; nothing was published", n, err)
		}
		var b body
		strict := json.NewDecoder(bytes.NewReader(raw))
		strict.DisallowUnknownFields()
		if err := strict.Decode(&b); err != nil {
			return nil, usageErrorf("standard input, body %d: %v (want {\"topic\",\"type\",\"data\",\"key\",\"delete\"}); nothing was published", n, err)
		}
		if b.Topic == "" || b.Data == nil {
			return nil, usageErrorf("standard input, body %d: topic and data are required; nothing was published", n)
		}
		events = append(events, client.Event{Topic: b.Topic, Type: b.Type, Data: b.Data, Key: b.Key, Delete: b.Delete})
	}
	if len(events) == 0 {
		return nil, usageErrorf("no -topic and nothing on standard input: give the event with -topic and -data, or pipe JSON bodies in")
	}
	for i := range events {
		switch {
		case key == "":
		case len(events) == 1:
			events[i].IdempotencyKey = key
		default:
			events[i].IdempotencyKey = fmt.Sprintf("%s-%d", key, i+1)
		}
	}
	return events, nil
}

// writeResult prints an accepted event's id (or its whole result).
func writeResult(w io.Writer, res client.Result, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, res.ID)
		return err
	}
	b, err := json.Marshal(map[string]any{"id": res.ID, "topic": res.Topic, "receivers": res.Receivers, "replayed": res.Replayed})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
