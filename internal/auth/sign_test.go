package auth

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSignAcceptedByVerifier: a token minted by Sign for each key kind is
// accepted by the verifier the services build for the matching key, with
// its subject, topics and expiry intact, and refused by a verifier that
// wants another audience.
func TestSignAcceptedByVerifier(t *testing.T) {
	t.Parallel()
	keys := keysOnce()
	tests := []struct {
		name string
		sign SignConfig
		ver  VerifierConfig
	}{
		{"HS256", SignConfig{Secret: []byte(testSecret)}, VerifierConfig{Secret: []byte(testSecret)}},
		{"RS256", SignConfig{PrivateKey: keys.rsa}, VerifierConfig{PublicKey: keys.rsa.Public()}},
		{"ES256", SignConfig{PrivateKey: keys.ec}, VerifierConfig{PublicKey: keys.ec.Public()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.sign
			cfg.Subject, cfg.Audience, cfg.Issuer = "support", "ssegate", "ops"
			cfg.Subscribe, cfg.Publish = []string{"spools:*"}, []string{"orders"}
			cfg.TTL = time.Hour
			tok, err := Sign(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ver := tt.ver
			ver.Audience, ver.Issuer = "ssegate", "ops"
			v, err := NewVerifier(ver)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "support" || !slices.Equal(c.Subscribe, []string{"spools:*"}) || !slices.Equal(c.Publish, []string{"orders"}) {
				t.Fatalf("claims %+v", c)
			}
			if d := time.Until(c.Expires); d < 59*time.Minute || d > time.Hour {
				t.Fatalf("expires in %s, want about 1h", d)
			}
			ver.Audience = "other"
			other, err := NewVerifier(ver)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(tok); err == nil {
				t.Fatal("a verifier wanting another audience accepted the token")
			}
		})
	}
}

// TestSignRefusesWhatVerifyWouldRefuse: a short secret, no key, a zero
// lifetime and a malformed topic pattern are errors at signing time.
func TestSignRefusesWhatVerifyWouldRefuse(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]SignConfig{
		"short secret":  {Secret: []byte("short"), TTL: time.Hour},
		"no key":        {TTL: time.Hour},
		"no lifetime":   {Secret: []byte(testSecret)},
		"bad pattern":   {Secret: []byte(testSecret), TTL: time.Hour, Subscribe: []string{"a b"}},
		"empty pattern": {Secret: []byte(testSecret), TTL: time.Hour, Publish: []string{""}},
	} {
		if tok, err := Sign(cfg); err == nil {
			t.Errorf("%s: Sign = %q, want an error", name, tok)
		}
	}
}

// TestLoadPrivateKey reads PKCS #8, PKCS #1 and SEC 1 files and refuses a
// public key.
func TestLoadPrivateKey(t *testing.T) {
	t.Parallel()
	keys := keysOnce()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(keys.ec)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(keys.ec)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(keys.ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		write("pkcs8.pem", "PRIVATE KEY", pkcs8),
		write("pkcs1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(keys.rsa)),
		write("ec.pem", "EC PRIVATE KEY", ecDER),
	} {
		var k crypto.Signer
		if k, err = LoadPrivateKey(p); err != nil || k == nil {
			t.Errorf("LoadPrivateKey(%s) = %v, %v", filepath.Base(p), k, err)
		}
	}
	if _, err := LoadPrivateKey(write("pub.pem", "PUBLIC KEY", pub)); err == nil {
		t.Error("a public key file was accepted as a private key")
	}
}
