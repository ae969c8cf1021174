package python

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/test/harness"
)

// command is one request of the Python tests to the Go side.
type command struct {
	name  string
	reply chan any
}

// control is the loopback HTTP server the Python tests call: POST
// /redis/stop, POST /redis/restart (returns once the publisher is ready
// again), GET /history. Handlers only pass requests to the test goroutine,
// which carries them out (t.Fatal is allowed there only).
type control struct {
	url  string
	cmds chan command
}

// startControl serves the control routes until the test ends.
func startControl(t *testing.T) *control {
	t.Helper()
	c := &control{cmds: make(chan command)}
	mux := http.NewServeMux()
	for route, name := range map[string]string{
		"POST /redis/stop": "stop", "POST /redis/restart": "restart", "GET /history": "history",
	} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			cmd := command{name: name, reply: make(chan any, 1)}
			select {
			case c.cmds <- cmd:
			case <-r.Context().Done():
				return
			}
			select {
			case v := <-cmd.reply:
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(v)
			case <-r.Context().Done():
			}
		})
	}
	ln := harness.Listen(t)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { // Owner: the test. Exit: Shutdown in cleanup.
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
	})
	c.url = "http://" + ln.Addr().String()
	return c
}

// serve carries out control requests on the calling (test) goroutine with
// do until done delivers the Python process's exit, and returns it.
func (c *control) serve(t *testing.T, done <-chan error, do func(command) any) error {
	t.Helper()
	for {
		select {
		case cmd := <-c.cmds:
			cmd.reply <- do(cmd)
		case err := <-done:
			return err
		}
	}
}
