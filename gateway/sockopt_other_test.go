//go:build !windows

package gateway_test

import "syscall"

// setRecvBuffer sets SO_RCVBUF on a socket before it connects, so that a
// client that does not read fills its window quickly.
func setRecvBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
