package redisbroker

import (
	"context"
	"log/slog"
)

// Check runs, once, what New runs against Redis at start: it parses the
// URL, applies the password file and TLS files, connects both clients and
// probes the permissions opts.Access needs (the ACL checks of probe). It
// returns nil when a service with opts would be ready at once, a
// *ConfigError for a setting to fix (malformed URL, WRONGPASS, NOPERM, an
// untrusted certificate), or an error wrapping broker.ErrUnavailable when
// Redis does not answer. Unlike New it never starts a connecting goroutine:
// it is for `ssegatectl check-config`, which reports and exits.
func Check(ctx context.Context, opts Options) error {
	co, err := ClientOption(opts.URL, opts.SentinelMaster)
	if err != nil {
		return err
	}
	if err := opts.Security.apply(&co); err != nil {
		return err
	}
	b := &Broker{log: slog.New(slog.DiscardHandler), sharded: opts.Sharded, access: opts.Access}
	c, err := b.dial(ctx, co)
	if err != nil {
		return err
	}
	c.close()
	return nil
}
