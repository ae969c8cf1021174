//go:build !linux

package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
)

// The pooled writer (pool_linux.go) needs epoll and non-blocking writes on
// the raw socket, which only the Linux build has. Elsewhere newPool always
// fails, Server.pool stays nil and every stream is written by its handler
// goroutine through net/http, exactly as with SSEGATE_WRITERS=-1. The
// types and methods below only let the portable code compile; none of them
// is ever reached with a non-nil pool.

// errPoolLinuxOnly is newPool's answer outside Linux.
var errPoolLinuxOnly = fmt.Errorf("pooled writer is Linux-only: %w", errors.ErrUnsupported)

// pool is never built outside Linux.
type pool struct{}

// wire is the pooled writer's socket state; unused outside Linux.
type wire struct{}

func newPool(*Server, int) (*pool, error) { return nil, errPoolLinuxOnly }

func (*pool) run(context.Context) {}

func (*pool) schedule(*conn) {}

func (*pool) handOff(*conn, net.Conn, *slog.Logger) (string, bool) { return reasonError, false }

func (*pool) writer(*chunkWriter, *slog.Logger) writer { return nil }
