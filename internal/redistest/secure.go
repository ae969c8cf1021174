package redistest

import (
	"net"
	"strconv"
	"testing"
)

// TLSFiles are the PEM files of a TLS Redis (see WithTLS).
type TLSFiles struct {
	// CertFile and KeyFile are the server's certificate and key.
	CertFile, KeyFile string
	// CAFile holds the CAs that sign client certificates; redis-server
	// wants one even when it does not ask for client certificates.
	CAFile string
	// AuthClients makes client certificates mandatory (mutual TLS).
	AuthClients bool
}

// WithTLS makes a redis-server binary also listen with TLS on a second
// free loopback port (TLSAddr, TLSURL). The plain port stays open for the
// test's own helpers (Do, Exec). Debian's redis-server is built with TLS.
func WithTLS(f TLSFiles) Option {
	return func(o *options) { o.tls = &f }
}

// serverArgs picks the TLS port and returns its address and the
// redis-server arguments.
func (f TLSFiles) serverArgs() (string, []string, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	auth := "no"
	if f.AuthClients {
		auth = "yes"
	}
	return net.JoinHostPort(loopbackHost, strconv.Itoa(port)), []string{
		"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", f.CertFile,
		"--tls-key-file", f.KeyFile,
		"--tls-ca-cert-file", f.CAFile,
		"--tls-auth-clients", auth,
	}, nil
}

// TLSAddr is the TLS listener's "127.0.0.1:PORT" ("" without WithTLS).
func (s *Server) TLSAddr() string { return s.tlsAddr }

// TLSURL is "rediss://" + TLSAddr().
func (s *Server) TLSURL() string { return "rediss://" + s.tlsAddr }

// RequirePass sets the default user's password (CONFIG SET requirepass)
// and makes the helpers (Do, Exec, NumSub) authenticate from now on. It
// lasts until a Restart (persistence is off).
func (s *Server) RequirePass(t testing.TB, password string) {
	t.Helper()
	s.do(t, []string{"CONFIG", "SET", "requirepass", password})
	s.auth = []string{"AUTH", password}
}
