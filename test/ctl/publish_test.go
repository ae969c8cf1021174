package ctl

import (
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/redistest"
)

// TestPublishIdempotent: publish from flags and from standard input (one
// body, and newline-delimited bodies) prints each event's id; run again
// with the same -idempotency-key it prints the same ids (the publisher
// answered replays), and the topic's history holds each event once.
func TestPublishIdempotent(t *testing.T) {
	srv := redistest.Start(t)
	gw, pub := services(t, srv.URL()+"/0", anonymous)
	flags := []string{"publish", "-url", pub.URL, "-topic", "t", "-data", `{"a":1}`, "-idempotency-key", "flag-key"}
	one := mustCtl(t, nil, "", flags...)
	if again := mustCtl(t, nil, "", flags...); again != one || strings.Count(one, "\n") != 1 {
		t.Fatalf("flags: first %q, replay %q: want one id, the same", one, again)
	}
	body := `{"topic":"t","type":"note","data":{"b":2}}`
	single := mustCtl(t, nil, body, "publish", "-url", pub.URL, "-idempotency-key", "stdin-key")
	if again := mustCtl(t, nil, body, "publish", "-url", pub.URL, "-idempotency-key", "stdin-key"); again != single {
		t.Fatalf("stdin: first %q, replay %q", single, again)
	}
	ndjson := `{"topic":"t","data":3}` + "\n" + `{"topic":"t","data":4,"key":"k"}` + "\n"
	many := mustCtl(t, nil, ndjson, "publish", "-url", pub.URL, "-idempotency-key", "batch")
	if again := mustCtl(t, nil, ndjson, "publish", "-url", pub.URL, "-idempotency-key", "batch"); again != many || strings.Count(many, "\n") != 2 {
		t.Fatalf("ndjson: first %q, replay %q: want two ids, the same", many, again)
	}
	ids := strings.Fields(one + single + many)
	out := mustCtl(t, nil, "", "tail", "-url", gw.URL, "-from", "0-0", "-n", "4", "t")
	want := ids[0] + "\tmessage\t{\"a\":1}\n" + ids[1] + "\tnote\t{\"b\":2}\n" + ids[2] + "\tmessage\t3\n" + ids[3] + "\tmessage\t4\n"
	if out != want {
		t.Fatalf("history:\n%q\nwant\n%q", out, want)
	}
}

// TestPublishBadInput: a malformed body anywhere on standard input is a
// usage error (status 2) naming the body, and nothing is published, not
// even the valid bodies before it; a bad flag combination is status 2 too.
func TestPublishBadInput(t *testing.T) {
	srv := redistest.Start(t)
	gw, pub := services(t, srv.URL()+"/0", anonymous)
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"not JSON":      {`{"topic":"bad","data":1}` + "\n{oops", nil, "body 2"},
		"unknown field": {`{"topic":"bad","data":1,"colour":"red"}`, nil, "body 1"},
		"no data":       {`{"topic":"bad"}`, nil, "topic and data are required"},
		"data not JSON": {"", []string{"-topic", "bad", "-data", "text"}, "is not JSON"},
		"delete no key": {"", []string{"-topic", "bad", "-delete"}, "-delete needs -key"},
		"nothing":       {"", nil, "nothing on standard input"},
	} {
		r := ctl(t, nil, tc.stdin, append([]string{"publish", "-url", pub.URL}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and %q", name, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// Nothing reached the topic: a tail from the start sees only this one.
	id := strings.TrimSpace(mustCtl(t, nil, "", "publish", "-url", pub.URL, "-topic", "bad", "-data", "0"))
	if out := mustCtl(t, nil, "", "tail", "-url", gw.URL, "-from", "0-0", "-n", "1", "bad"); out != id+"\tmessage\t0\n" {
		t.Fatalf("history of bad: %q, want only %s", out, id)
	}
}
