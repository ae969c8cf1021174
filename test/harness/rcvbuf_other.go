//go:build !unix

package harness

import "net"

// RcvBufDialer returns a plain dialer: the receive buffer option is out of
// reach here, so tests of slow clients rely on the volume of data alone.
func RcvBufDialer(int) *net.Dialer { return &net.Dialer{} }
