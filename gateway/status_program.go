package gateway

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// enableStatus builds the status page when cfg.Status enables it: on its
// own listener (opened here, so a busy address fails at start) or on the
// public router behind the token.
func (p *Program) enableStatus() error {
	cfg := p.cfg.Status
	if !cfg.Enabled() {
		return nil
	}
	sp, err := newStatusPage(p.server, cfg)
	if err != nil {
		return err
	}
	p.status = sp
	if cfg.Listen == "" {
		sp.mount(p.echo)
		return nil
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("status listener: %w", err)
	}
	p.statusLn = ln
	closeBroker := p.close
	p.close = func() {
		_ = ln.Close() // Run's serve closed it already, unless Run never ran
		closeBroker()
	}
	return nil
}

// StatusAddr returns the address of the status page's own listener, or nil.
func (p *Program) StatusAddr() net.Addr {
	if p.statusLn == nil {
		return nil
	}
	return p.statusLn.Addr()
}

// runStatus starts the rate sampler and the status listener, if any, on wg
// until ctx ends; the returned error is set once wg is done.
func (p *Program) runStatus(ctx context.Context, wg *sync.WaitGroup) *error {
	var err error
	if p.status == nil {
		return &err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.status.run(ctx)
	}()
	if p.statusLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err = p.status.serve(ctx, p.statusLn, p.cfg.Logger)
		}()
	}
	return &err
}
