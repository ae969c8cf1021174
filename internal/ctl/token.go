package ctl

import (
	"context"
	"fmt"
	"time"

	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/config"
)

// tokenOptions are token's flags.
type tokenOptions struct {
	role, sub, topics, aud, iss, keyFile string
	ttl                                  time.Duration
}

// runToken mints a JWT the services accept (auth.Sign) and prints it. The
// key comes from the services' own variable SSEGATE_JWT_SECRET (HS256;
// never a flag, so it stays out of shell history and ps), or from a PEM
// private key file (RS256/ES256) whose public half the services hold in
// SSEGATE_JWT_PUBLIC_KEY_FILE. aud and iss default to the services'
// SSEGATE_JWT_AUDIENCE and SSEGATE_JWT_ISSUER, which they require.
func runToken(_ context.Context, args []string, o IO) error {
	var opt tokenOptions
	fs := newFlags("token", "token -topics PATTERNS [flags]\n\n"+
		"Mints a JWT and prints it. The key: $SSEGATE_JWT_SECRET (HS256, as the services read it),\n"+
		"or -key-file (RS256/ES256). A pattern is a topic, a prefix ending in *, or *.", o)
	fs.StringVar(&opt.role, "role", "subscriber", "subscriber (claim ssegate.subscribe) or publisher (claim ssegate.publish)")
	fs.StringVar(&opt.sub, "sub", "ssegatectl", "the sub claim: who the token is for (shows in logs as the subject)")
	fs.StringVar(&opt.topics, "topics", "", "comma-separated topic patterns the token grants (required)")
	fs.DurationVar(&opt.ttl, "ttl", time.Hour, "lifetime (exp = now + ttl)")
	fs.StringVar(&opt.aud, "aud", o.getenv("SSEGATE_JWT_AUDIENCE"), "the aud claim (default $SSEGATE_JWT_AUDIENCE; empty = none)")
	fs.StringVar(&opt.iss, "iss", o.getenv("SSEGATE_JWT_ISSUER"), "the iss claim (default $SSEGATE_JWT_ISSUER; empty = none)")
	fs.StringVar(&opt.keyFile, "key-file", "", "PEM RSA or ECDSA P-256 private key (RS256/ES256) instead of $SSEGATE_JWT_SECRET")
	if err := parse(fs, args, o); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	cfg, err := opt.signConfig(o.getenv("SSEGATE_JWT_SECRET"))
	if err != nil {
		return err
	}
	tok, err := auth.Sign(cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := selfCheck(tok, cfg); err != nil {
		return err
	}
	fmt.Fprintln(o.Stdout, tok)
	return nil
}

// signConfig turns the flags and the secret into what auth.Sign needs.
func (opt tokenOptions) signConfig(secret string) (auth.SignConfig, error) {
	cfg := auth.SignConfig{Subject: opt.sub, Audience: opt.aud, Issuer: opt.iss, TTL: opt.ttl}
	patterns := config.List(opt.topics)
	if len(patterns) == 0 {
		return cfg, usageErrorf("-topics is required: the topic patterns the token grants, e.g. -topics 'spools:*'")
	}
	switch opt.role {
	case "subscriber":
		cfg.Subscribe = patterns
	case "publisher":
		cfg.Publish = patterns
	default:
		return cfg, usageErrorf("-role %q: want subscriber or publisher", opt.role)
	}
	switch {
	case opt.keyFile != "":
		k, err := auth.LoadPrivateKey(opt.keyFile)
		if err != nil {
			return cfg, usageErrorf("%v", err)
		}
		cfg.PrivateKey = k
	case secret != "":
		cfg.Secret = []byte(secret)
	default:
		return cfg, usageErrorf("no key: set SSEGATE_JWT_SECRET (the services' HS256 secret) or -key-file (a PEM private key)")
	}
	return cfg, nil
}

// selfCheck verifies the minted token with the verifier the services
// build for the same key, audience and issuer: what is printed is what
// they accept.
func selfCheck(tok string, cfg auth.SignConfig) error {
	vc := auth.VerifierConfig{Secret: cfg.Secret, Audience: cfg.Audience, Issuer: cfg.Issuer}
	if cfg.PrivateKey != nil {
		vc.PublicKey = cfg.PrivateKey.Public()
	}
	v, err := auth.NewVerifier(vc)
	if err != nil {
		return fmt.Errorf("check the minted token: %w", err)
	}
	if _, err := v.Verify(tok); err != nil {
		return fmt.Errorf("the minted token does not verify: %w", err)
	}
	return nil
}
