//go:build unix

package harness

import (
	"net"
	"syscall"
)

// RcvBufDialer returns a dialer whose sockets get a receive buffer of n
// bytes before they connect, so the TCP window stays small: a client that
// stops reading then stalls the server's writes after a few KiB, which is
// how tests play a slow client. Where the socket option is out of reach
// (not unix) it is a plain dialer, and tests rely on the volume of data.
func RcvBufDialer(n int) *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}); err != nil {
			return err
		}
		return serr
	}}
}
