package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// mount puts the page on the public router: a request without the token
// gets echo's 404, the answer of a path that does not exist.
func (p *statusPage) mount(e *echo.Echo) {
	for path, h := range p.routes() {
		e.GET(path, func(c echo.Context) error {
			if !p.authorized(c.Request()) {
				return echo.ErrNotFound
			}
			h(c.Response(), c.Request())
			return nil
		})
	}
}

// handler serves the page alone, for its own listener; every other path,
// and every request without the token when one is set, gets 404.
func (p *statusPage) handler() http.Handler {
	mux := http.NewServeMux()
	for path, h := range p.routes() {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			if !p.authorized(r) {
				http.NotFound(w, r)
				return
			}
			h(w, r)
		})
	}
	return mux
}

// serve serves the page on its own listener until ctx ends, then closes
// it and its open streams at once (a status stream holds nothing to drain).
func (p *statusPage) serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	srv := &http.Server{
		Handler:           p.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		err = srv.Serve(ln)
	}()
	log.Info("serving the status page", "addr", ln.Addr().String())
	<-ctx.Done()
	cancel()
	closeErr := srv.Close()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err = errors.Join(err, closeErr); err != nil {
		return fmt.Errorf("status listener: %w", err)
	}
	return nil
}
