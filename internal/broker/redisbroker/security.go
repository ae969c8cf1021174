package redisbroker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// Security is how ssegate proves who it is to Redis and checks who Redis
// is, beyond what the URL says. Every field names a file, so secrets need
// not sit in the environment or on the command line, and each file is
// reread when it changes: the password on every (re)connection, the TLS
// files on the next connection after their modification time or size
// changed. The URL keeps the user name (redis://user@host).
type Security struct {
	// PasswordFile holds the Redis password (one line; a trailing newline
	// is ignored). It replaces a password in the URL, which must then have
	// none. With Sentinel the same credentials go to the Sentinels.
	PasswordFile string
	// TLSCAFile is a PEM bundle of the CAs that sign the Redis server
	// certificates; empty = the system roots. Needs a rediss:// URL.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a PEM client certificate and key for
	// mutual TLS (Redis tls-auth-clients yes). Both or neither.
	TLSCertFile, TLSKeyFile string
	// TLSServerName is the name the server certificate must carry; empty =
	// the host of each address dialled (seeds, discovered cluster nodes,
	// the master Sentinel names).
	TLSServerName string
}

// tlsWanted reports whether any TLS file or name is set.
func (s Security) tlsWanted() bool {
	return s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "" || s.TLSServerName != ""
}

// apply installs s into co (from ParseURL): credentials read from the
// password file at every connection, and a TLS configuration rebuilt when
// its files change. It reads every file once now, so a missing or
// malformed file is a *ConfigError at start.
func (s Security) apply(co *rueidis.ClientOption) error {
	if s.PasswordFile != "" {
		if co.Password != "" {
			return &ConfigError{Fix: "the Redis password is set twice: keep it in SSEGATE_REDIS_PASSWORD_FILE and remove it from SSEGATE_REDIS_URL"}
		}
		pf := passwordFile{path: s.PasswordFile, user: co.Username}
		if _, err := pf.credentials(rueidis.AuthCredentialsContext{}); err != nil {
			return &ConfigError{Fix: err.Error(), Err: err}
		}
		co.AuthCredentialsFn = pf.credentials
	}
	// Sentinels get the same credentials as the data nodes (rueidis passes
	// AuthCredentialsFn to both; the URL's password likewise).
	co.Sentinel.Username, co.Sentinel.Password = co.Username, co.Password
	if co.TLSConfig == nil {
		if s.tlsWanted() {
			return &ConfigError{Fix: "SSEGATE_REDIS_TLS_* settings need a rediss:// SSEGATE_REDIS_URL"}
		}
		return nil
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		return &ConfigError{Fix: "SSEGATE_REDIS_TLS_CERT_FILE and SSEGATE_REDIS_TLS_KEY_FILE go together"}
	}
	src := &tlsSource{files: s, skipVerify: co.TLSConfig.InsecureSkipVerify}
	if _, err := src.config(); err != nil {
		return &ConfigError{Fix: err.Error(), Err: err}
	}
	co.Sentinel.TLSConfig = co.TLSConfig
	co.DialCtxFn = src.dial
	return nil
}

// passwordFile reads the password for each new connection, so a rotated
// password is used from the next reconnection on.
type passwordFile struct {
	path, user string
}

// credentials is a rueidis AuthCredentialsFn. Its error never carries
// the file's content.
func (p passwordFile) credentials(rueidis.AuthCredentialsContext) (rueidis.AuthCredentials, error) {
	b, err := os.ReadFile(p.path)
	if err != nil {
		return rueidis.AuthCredentials{}, fmt.Errorf("SSEGATE_REDIS_PASSWORD_FILE: %w", err)
	}
	pw := string(bytes.TrimRight(b, "\r\n"))
	if pw == "" {
		return rueidis.AuthCredentials{}, fmt.Errorf("SSEGATE_REDIS_PASSWORD_FILE %s is empty", p.path)
	}
	return rueidis.AuthCredentials{Username: p.user, Password: pw}, nil
}

// tlsSource builds the client TLS configuration from files and builds it
// again when one of them changed (a renewed CA bundle or client
// certificate), checked with a stat per connection.
type tlsSource struct {
	files      Security
	skipVerify bool // rediss://…?skip_verify=true, tests only

	mu     sync.Mutex
	stamps []fileStamp
	cached *tls.Config
}

// fileStamp tells a changed file apart: modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

// config returns the current configuration, rebuilt when a file changed.
func (s *tlsSource) config() (*tls.Config, error) {
	paths := []string{s.files.TLSCAFile, s.files.TLSCertFile, s.files.TLSKeyFile}
	stamps := make([]fileStamp, len(paths))
	for i, p := range paths {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("redis TLS file: %w", err)
		}
		stamps[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && equalStamps(stamps, s.stamps) {
		return s.cached, nil
	}
	cfg, err := s.build()
	if err != nil {
		return nil, err
	}
	s.cached, s.stamps = cfg, stamps
	return cfg, nil
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}

// build reads the files into a fresh configuration.
func (s *tlsSource) build() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.files.TLSServerName, InsecureSkipVerify: s.skipVerify}
	if f := s.files.TLSCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("SSEGATE_REDIS_TLS_CA_FILE: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SSEGATE_REDIS_TLS_CA_FILE %s holds no PEM certificate", f)
		}
	}
	if s.files.TLSCertFile != "" {
		pair, err := tls.LoadX509KeyPair(s.files.TLSCertFile, s.files.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("SSEGATE_REDIS_TLS_CERT_FILE/_KEY_FILE: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// dial is a rueidis DialCtxFn. tlsConfig is what rueidis would use for
// this connection (the data nodes' or the Sentinels'): nil means plain TCP.
// Without a configured server name the certificate must name the host
// dialled, which for discovered cluster nodes is not the URL's host.
func (s *tlsSource) dial(ctx context.Context, addr string, d *net.Dialer, tlsConfig *tls.Config) (net.Conn, error) {
	if tlsConfig == nil {
		return d.DialContext(ctx, "tcp", addr)
	}
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("redis address %q: %w", addr, err)
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	cfg, asked := watchCertRequest(cfg)
	td := tls.Dialer{NetDialer: d, Config: cfg}
	conn, err := td.DialContext(ctx, "tcp", addr)
	switch {
	case err != nil && asked.Load():
		return nil, markCertless(err)
	case err != nil:
		return nil, err
	case asked.Load():
		return certlessConn{conn}, nil
	}
	return conn, nil
}

// tlsConfigError explains a TLS failure that is a setting to fix, or
// returns nil. Redis refusing the client certificate shows as an alert
// from the server; a plaintext port answers garbage to the handshake.
func tlsConfigError(err error) error {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownCA) || errors.As(err, &certErr):
		return &ConfigError{Fix: "redis TLS certificate not trusted (" + err.Error() + "): set SSEGATE_REDIS_TLS_CA_FILE to the CA that signed it", Err: err}
	case errors.As(err, &hostErr):
		return &ConfigError{Fix: "redis TLS certificate is for another name (" + err.Error() + "): set SSEGATE_REDIS_TLS_SERVER_NAME or fix the host in SSEGATE_REDIS_URL", Err: err}
	case errors.As(err, &recErr):
		return &ConfigError{Fix: "the redis address does not speak TLS: use its TLS port (tls-port) in the rediss:// SSEGATE_REDIS_URL, or redis://", Err: err}
	case errors.Is(err, errClientCertWanted) || strings.Contains(err.Error(), "remote error: tls:"):
		return &ConfigError{Fix: "redis refused the TLS handshake (" + err.Error() + "): set SSEGATE_REDIS_TLS_CERT_FILE and SSEGATE_REDIS_TLS_KEY_FILE to a client certificate its CA trusts", Err: err}
	}
	return nil
}
