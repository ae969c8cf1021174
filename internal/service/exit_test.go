package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"testing"
)

// TestExitCode: -h exits 0, an unhealthy -healthcheck 1 (never 2, which
// Docker reserves), any other error 2.
func TestExitCode(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c := parse(t, nil, "-healthcheck", "-listen", closed)
	_, _, unhealthy := c.Start(context.Background(), "svc", "v1", "c1", nil, nil)
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"help", fmt.Errorf("parse: %w", flag.ErrHelp), 0},
		{"unhealthy", unhealthy, 1},
		{"bad setting", errors.New("max-topic-len 0: want 1 to 1024"), 2},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}
