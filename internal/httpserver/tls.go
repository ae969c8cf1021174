package httpserver

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertFiles are a PEM certificate chain and its private key. A server
// serving them reads them again when either file changes, so a renewed
// certificate (cert-manager, certbot) is used without a restart.
type CertFiles struct {
	Cert, Key string
	// Check is how often the files' modification times are looked at, on
	// a handshake; default 10 s.
	Check time.Duration
}

// certReloader hands out the newest valid certificate of its files.
type certReloader struct {
	files CertFiles
	log   *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	certMod time.Time
	keyMod  time.Time
	checked time.Time
}

// newCertReloader loads files, failing when they do not hold a valid pair.
func newCertReloader(files CertFiles, log *slog.Logger) (*certReloader, error) {
	if files.Check <= 0 {
		files.Check = 10 * time.Second
	}
	r := &certReloader{files: files, log: log}
	if err := r.load(time.Now()); err != nil {
		return nil, err
	}
	return r, nil
}

// load reads the pair if either file changed since the last load.
func (r *certReloader) load(now time.Time) error {
	r.checked = now
	ci, err := os.Stat(r.files.Cert)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	ki, err := os.Stat(r.files.Key)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	if r.cert != nil && ci.ModTime().Equal(r.certMod) && ki.ModTime().Equal(r.keyMod) {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return fmt.Errorf("tls certificate and key: %w", err)
	}
	r.cert, r.certMod, r.keyMod = &cert, ci.ModTime(), ki.ModTime()
	return nil
}

// get is tls.Config.GetCertificate. A renewal caught half-written (a new
// certificate with the old key) fails to load: the previous certificate
// stays in use and the next check tries again.
func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.files.Check {
		if err := r.load(now); err != nil {
			r.log.Warn("keeping the current TLS certificate", "err", err)
		}
	}
	return r.cert, nil
}

// tlsConfig serves files with HTTP/2 and HTTP/1.1, TLS 1.2 or later.
func tlsConfig(files CertFiles, log *slog.Logger) (*tls.Config, error) {
	r, err := newCertReloader(files, log)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}, nil
}
