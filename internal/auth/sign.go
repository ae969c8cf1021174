package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignConfig is what a minted token says and the key that signs it. The
// services only verify; signing is for `ssegatectl token` (tests, support)
// and must produce exactly what Verify accepts.
type SignConfig struct {
	// Secret signs with HS256 (at least MinSecretLen bytes); else
	// PrivateKey signs with RS256 (*rsa.PrivateKey) or ES256
	// (*ecdsa.PrivateKey on P-256).
	Secret     []byte
	PrivateKey crypto.Signer
	Subject    string
	Audience   string   // empty: no aud claim
	Issuer     string   // empty: no iss claim
	Publish    []string // patterns for the PublishClaim; nil: none
	Subscribe  []string // patterns for the SubscribeClaim; nil: none
	TTL        time.Duration
	Now        time.Time // zero: time.Now()
}

// Sign mints a JWT for cfg. Verify requires exp, so TTL must be positive.
func Sign(cfg SignConfig) (string, error) {
	if cfg.TTL <= 0 {
		return "", fmt.Errorf("token lifetime %s: want a positive duration", cfg.TTL)
	}
	for _, list := range [][]string{cfg.Publish, cfg.Subscribe} {
		for _, p := range list {
			if err := validPattern(p, 0); err != nil {
				return "", err
			}
		}
	}
	method, key, err := signingKey(cfg)
	if err != nil {
		return "", err
	}
	now := cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	claims := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(cfg.TTL).Unix()}
	for name, v := range map[string]string{"sub": cfg.Subject, "aud": cfg.Audience, "iss": cfg.Issuer} {
		if v != "" {
			claims[name] = v
		}
	}
	if cfg.Publish != nil {
		claims[PublishClaim] = cfg.Publish
	}
	if cfg.Subscribe != nil {
		claims[SubscribeClaim] = cfg.Subscribe
	}
	return jwt.NewWithClaims(method, claims).SignedString(key)
}

// signingKey picks the algorithm for cfg's key, with the same key
// requirements NewVerifier has.
func signingKey(cfg SignConfig) (jwt.SigningMethod, any, error) {
	if cfg.Secret != nil {
		if len(cfg.Secret) < MinSecretLen {
			return nil, nil, fmt.Errorf("JWT secret: %d bytes is too short for HS256 (at least %d)", len(cfg.Secret), MinSecretLen)
		}
		return jwt.SigningMethodHS256, cfg.Secret, nil
	}
	switch k := cfg.PrivateKey.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, nil, fmt.Errorf("JWT private key: RSA key of %d bits is too small (at least %d)", k.N.BitLen(), minRSABits)
		}
		return jwt.SigningMethodRS256, k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, nil, fmt.Errorf("JWT private key: ECDSA key on %s; ES256 needs P-256", k.Curve.Params().Name)
		}
		return jwt.SigningMethodES256, k, nil
	case nil:
		return nil, nil, errors.New("signing a JWT needs a secret (HS256) or a private key (RS256/ES256)")
	}
	return nil, nil, fmt.Errorf("JWT private key: unsupported key type %T (want RSA or ECDSA P-256)", cfg.PrivateKey)
}

// LoadPrivateKey reads a PEM file holding an RSA or ECDSA private key
// ("PRIVATE KEY" PKCS #8, "RSA PRIVATE KEY" PKCS #1 or "EC PRIVATE KEY").
func LoadPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("JWT private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("JWT private key %s: no PEM block found", path)
	}
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("JWT private key %s: PEM block %q is not a private key", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("JWT private key %s: %w", path, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("JWT private key %s: unsupported key type %T", path, k)
	}
	return signer, nil
}
