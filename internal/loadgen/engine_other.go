//go:build !linux

package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// The engine needs Linux: epoll readers (reader_linux.go), descriptors moved
// out of the Go runtime with IP_BIND_ADDRESS_NO_PORT source binding
// (dial_linux.go) and the open-file limit (fd_linux.go); the gateways' cost
// is read from /proc. Elsewhere Run refuses to start with errNotLinux, after
// checking its configuration, while the parser, histograms and reports
// still build, so that every package of the module compiles on every OS.

// errNotLinux is Run's answer outside Linux.
var errNotLinux = fmt.Errorf("the load generator needs Linux (epoll, /proc): %w", errors.ErrUnsupported)

// checkFileLimit is where Run stops outside Linux.
func checkFileLimit(*Config) error { return errNotLinux }

// reader is never built outside Linux; stats is what run.go reads of it.
type reader struct{ stats *counters }

func newReader(*run) (*reader, error) { return nil, errNotLinux }

func (*reader) loop(*atomic.Bool) error { return errNotLinux }

func (*reader) close() {}

func (*reader) wake() {}

func (*run) connect(context.Context, *worker, int) error { return errNotLinux }

func (*run) reconnect(context.Context, *worker, int) {}

func closeFD(int32) {}
