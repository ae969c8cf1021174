package gateway_test

import "syscall"

// setRecvBuffer sets SO_RCVBUF on a socket before it connects (Windows
// names sockets by handle).
func setRecvBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
