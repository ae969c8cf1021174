// Package service is the process scaffolding ssegate's binaries share:
// signal handling and exit codes, and the settings every service has — the
// listen address, the Redis connection, HTTP limits, logs, -version and
// -healthcheck — bound once with the same names, defaults and help in both.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/logging"
	"github.com/ssegate/ssegate/internal/topic"
)

// RunFunc runs a program with its arguments (without the program name), its
// environment and output streams, until ctx ends.
type RunFunc func(ctx context.Context, args []string, env config.Env, stdout, stderr io.Writer) error

// Main runs run with the process's arguments and environment, cancels its
// context on SIGINT or SIGTERM, and exits with ExitCode.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], config.OSEnv(), os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	os.Exit(ExitCode(err))
}

// Defaults are what differs between the services' common settings.
type Defaults struct {
	Listen        string
	RedisURL      string
	RedisURLHelp  string
	ShutdownGrace time.Duration
	MaxLenHelp    string
}

// Common are the settings every service has. The publish limits are here
// too: the gateway serves the publish API in embedded mode.
type Common struct {
	Listen         string
	RedisURL       string
	Sharded        bool
	SentinelMaster string
	History        broker.HistoryConfig
	ShutdownGrace  time.Duration
	HTTP           httpserver.Options
	// MaxTopicLen bounds topic names (bytes), for subscribing and publishing.
	MaxTopicLen int
	// MaxBodyBytes bounds a publish request's body, MaxEventBytes the
	// event's data as it is stored and delivered.
	MaxBodyBytes, MaxEventBytes int64
	// RedisSecurity is the Redis password file and TLS files.
	RedisSecurity redisbroker.Security

	maxLen         int
	stateMaxKeys   int
	maxBody        int
	maxEvent       int
	tlsCert        string
	tlsKey         string
	trusted        string
	logLevel       string
	logFormat      string
	showVersion    bool
	health         bool
	maxHeaderBytes int
}

// Bind registers the common settings on s.
func (c *Common) Bind(s *config.Set, d Defaults) {
	s.Tolerate(sharedEnv()...)
	s.String(&c.Listen, "listen", "SSEGATE_LISTEN_ADDR", d.Listen, "HTTP listen address")
	s.String(&c.RedisURL, "redis-url", "SSEGATE_REDIS_URL", d.RedisURL, d.RedisURLHelp)
	c.bindRedisSecurity(s)
	s.Bool(&c.Sharded, "redis-sharded-pubsub", "SSEGATE_REDIS_SHARDED_PUBSUB", false, "use SSUBSCRIBE/SPUBLISH (Redis Cluster sharded pub/sub)")
	s.String(&c.SentinelMaster, "redis-sentinel-master", "SSEGATE_REDIS_SENTINEL_MASTER", "", "Sentinel master set; makes the URL's addresses Sentinels")
	s.Int(&c.maxLen, "history-maxlen", "SSEGATE_HISTORY_MAXLEN", int(broker.DefaultHistory().MaxLen), d.MaxLenHelp)
	s.Duration(&c.History.MaxAge, "history-max-age", "SSEGATE_HISTORY_MAX_AGE", 0, "drop history older than this (0 = no age limit)")
	s.Duration(&c.History.IdempotencyTTL, "idempotency-ttl", "SSEGATE_IDEMPOTENCY_TTL", broker.DefaultHistory().IdempotencyTTL, "how long an Idempotency-Key is remembered")
	s.Int(&c.stateMaxKeys, "state-max-keys", "SSEGATE_STATE_MAX_KEYS", broker.DefaultStateMaxKeys, "keys in one topic's state; a publish with a new key beyond it evicts the key updated longest ago")
	s.Duration(&c.History.State.MaxAge, "state-max-age", "SSEGATE_STATE_MAX_AGE", 0, "drop a state key whose latest event is older than this (0 = no age limit)")
	s.Int(&c.MaxTopicLen, "max-topic-len", "SSEGATE_MAX_TOPIC_LEN", topic.MaxLen, "longest topic name in bytes (ASCII letters, digits and :_-./@=+)")
	s.Int(&c.maxBody, "max-body-bytes", "SSEGATE_MAX_BODY_BYTES", 64<<10, "largest publish body; larger gets 413")
	s.Int(&c.maxEvent, "max-event-bytes", "SSEGATE_MAX_EVENT_BYTES", 64<<10, "largest event data as stored and delivered; larger gets 413")
	s.Duration(&c.ShutdownGrace, "shutdown-grace", "SSEGATE_SHUTDOWN_GRACE", d.ShutdownGrace, "longest time from SIGTERM to exit")
	s.String(&c.trusted, "trusted-proxies", "SSEGATE_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed")
	s.Duration(&c.HTTP.ReadHeaderTimeout, "read-header-timeout", "SSEGATE_READ_HEADER_TIMEOUT", 5*time.Second, "time a client has to send its request headers (slowloris guard)")
	s.Duration(&c.HTTP.BodyReadTimeout, "body-read-timeout", "SSEGATE_BODY_READ_TIMEOUT", httpserver.DefaultBodyReadTimeout, "time a client has to send a request body, counted from its headers; later gets 408")
	s.Int(&c.maxHeaderBytes, "max-header-bytes", "SSEGATE_MAX_HEADER_BYTES", 16<<10, "largest request line and headers, in bytes; larger gets 431 headers_too_large")
	s.String(&c.tlsCert, "tls-cert-file", "SSEGATE_TLS_CERT_FILE", "", "PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1); reread when it changes")
	s.String(&c.tlsKey, "tls-key-file", "SSEGATE_TLS_KEY_FILE", "", "PEM private key of the TLS certificate")
	s.String(&c.logLevel, "log-level", "SSEGATE_LOG_LEVEL", "info", "debug, info, warn or error")
	s.String(&c.logFormat, "log-format", "SSEGATE_LOG_FORMAT", "auto", "json, text or auto (text on a terminal)")
	s.Bool(&c.showVersion, "version", "SSEGATE_SHOW_VERSION", false, "print the version and exit")
	s.Bool(&c.health, "healthcheck", "SSEGATE_HEALTHCHECK", false, "GET /healthz on the listen port and exit 0 if healthy, 1 if not (container HEALTHCHECK)")
}

// Start acts on the settings after parsing: it answers -version and
// -healthcheck (done is then true and the program should return err), or
// builds the logger and completes History and HTTP.
func (c *Common) Start(ctx context.Context, name, version, commit string, stdout, stderr io.Writer) (log *slog.Logger, done bool, err error) {
	if c.showVersion {
		fmt.Fprintf(stdout, "%s %s (commit %s)\n", name, version, commit)
		return nil, true, nil
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, true, errors.New("tls-cert-file and tls-key-file go together")
	}
	if c.tlsCert != "" {
		c.HTTP.TLS = &httpserver.CertFiles{Cert: c.tlsCert, Key: c.tlsKey}
	}
	if c.health {
		return nil, true, httpserver.Healthcheck(ctx, c.Listen, c.HTTP.TLS != nil)
	}
	if log, err = logging.New(stderr, c.logFormat, c.logLevel); err != nil {
		return nil, true, err
	}
	c.History.MaxLen = int64(c.maxLen)
	if c.History.State.MaxKeys = int64(c.stateMaxKeys); c.History.State.MaxKeys <= 0 || c.History.State.MaxAge < 0 {
		return nil, true, fmt.Errorf("state-max-keys %d, state-max-age %s: want a positive number of keys and an age of 0 or more", c.stateMaxKeys, c.History.State.MaxAge)
	}
	c.MaxBodyBytes, c.MaxEventBytes = int64(c.maxBody), int64(c.maxEvent)
	if c.MaxTopicLen <= 0 || c.MaxTopicLen > topic.MaxLenLimit {
		return nil, true, fmt.Errorf("max-topic-len %d: want 1 to %d", c.MaxTopicLen, topic.MaxLenLimit)
	}
	if c.MaxBodyBytes <= 0 || c.MaxEventBytes <= 0 {
		return nil, true, fmt.Errorf("max-body-bytes %d, max-event-bytes %d: want positive sizes", c.MaxBodyBytes, c.MaxEventBytes)
	}
	if c.HTTP.BodyReadTimeout <= 0 {
		return nil, true, fmt.Errorf("body-read-timeout %s: want a positive duration", c.HTTP.BodyReadTimeout)
	}
	c.HTTP.MaxHeaderBytes = c.maxHeaderBytes
	if c.HTTP.TrustedProxies, err = httpserver.ParseCIDRs(c.trusted); err != nil {
		return nil, true, err
	}
	return log, false, nil
}

// bindRedisSecurity registers the Redis password file and TLS settings.
func (c *Common) bindRedisSecurity(s *config.Set) {
	r := &c.RedisSecurity
	s.String(&r.PasswordFile, "redis-password-file", "SSEGATE_REDIS_PASSWORD_FILE", "", "file holding the Redis password (user name in the URL); reread at every reconnection")
	s.String(&r.TLSCAFile, "redis-tls-ca-file", "SSEGATE_REDIS_TLS_CA_FILE", "", "PEM CA bundle that signs the Redis server certificate (rediss://; default: system roots); reread when it changes")
	s.String(&r.TLSCertFile, "redis-tls-cert-file", "SSEGATE_REDIS_TLS_CERT_FILE", "", "PEM client certificate for mutual TLS to Redis; reread when it changes")
	s.String(&r.TLSKeyFile, "redis-tls-key-file", "SSEGATE_REDIS_TLS_KEY_FILE", "", "PEM private key of the Redis client certificate")
	s.String(&r.TLSServerName, "redis-tls-server-name", "SSEGATE_REDIS_TLS_SERVER_NAME", "", "name the Redis server certificate must carry (default: the host dialled)")
}
