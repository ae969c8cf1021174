//go:build unix

package hardening

import "syscall"

// setRcvBuf shrinks a socket's receive buffer (before connect, so the TCP
// window stays small): a client that does not read then stops the server's
// writes after a few KiB.
func setRcvBuf(c syscall.RawConn, n int) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
	}); err != nil {
		return err
	}
	return serr
}
