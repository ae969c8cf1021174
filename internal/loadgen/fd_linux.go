package loadgen

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// checkFileLimit refuses runs that cannot fit in the open-file limit.
func checkFileLimit(cfg *Config) error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	need := uint64(cfg.Conns + cfg.ConnectConcurrency + cfg.Publishers + cfg.Readers + 64)
	if need > rl.Cur {
		return fmt.Errorf("%d connections need about %d file descriptors but the open-file limit is %d: lower -conns or run several ssebench processes", cfg.Conns, need, rl.Cur)
	}
	return nil
}

// closeFD closes a connection's descriptor, which lives outside the Go
// runtime once the handshake is done (dial_linux.go).
func closeFD(fd int32) { _ = unix.Close(int(fd)) }
