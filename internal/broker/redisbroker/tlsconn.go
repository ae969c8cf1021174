package redisbroker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
)

// errClientCertWanted marks the failure of a connection whose server asked
// for a client certificate that ssegate has none of. With TLS 1.3 a server
// that requires one (tls-auth-clients yes) refuses only after the
// handshake, so the client sees a reset on its first command; this mark
// lets that reset be told apart from Redis being away.
var errClientCertWanted = errors.New("redis asked for a TLS client certificate and none is set")

// watchCertRequest makes cfg (a clone) note when the server asks for a
// client certificate while none is configured; it answers with none.
func watchCertRequest(cfg *tls.Config) (*tls.Config, *atomic.Bool) {
	asked := new(atomic.Bool)
	if len(cfg.Certificates) > 0 {
		return cfg, asked
	}
	cfg = cfg.Clone()
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked.Store(true)
		return &tls.Certificate{}, nil
	}
	return cfg, asked
}

// certlessConn is a TLS connection made without the client certificate
// its server asked for: its errors carry errClientCertWanted. (A server
// with tls-auth-clients optional works, and nothing is marked.)
type certlessConn struct{ net.Conn }

func (c certlessConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, markCertless(err)
}

func (c certlessConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, markCertless(err)
}

func markCertless(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errClientCertWanted, err)
}
