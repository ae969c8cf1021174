package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzSecret and fuzzNow fix the key and the clock of FuzzVerify, so the
// valid token in the seed corpus (testdata/fuzz/FuzzVerify) stays valid.
const fuzzSecret = "fuzz-secret-0123456789abcdef0123"

var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// FuzzBearer: parsing an Authorization header never panics, and whatever
// it accepts is a syntactically valid token taken from a Bearer header.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer a.b.c", "Bearer  x==", "Basic Zm9vOmJhcg==", "Bearer a b", "Bearer \x00", "Bearer =", "Bearer a=b="} {
		f.Add(s)
	}
	toks, err := NewTokens([]string{"static-token"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := Bearer(header)
		if err != nil {
			if tok != "" {
				t.Fatalf("error %v with token %q", err, tok)
			}
			return
		}
		if !strings.EqualFold(header[:len("Bearer ")], "Bearer ") || !strings.HasSuffix(header, tok) {
			t.Fatalf("Bearer(%q) = %q: not the credential of a Bearer header", header, tok)
		}
		if checkToken(tok) != nil || len(tok) > MaxTokenLen || strings.ContainsAny(tok, " \t\r\n\x00") {
			t.Fatalf("Bearer(%q) accepted an invalid token %q", header, tok)
		}
		if toks.Match(tok) != (tok == "static-token") {
			t.Fatalf("Match(%q) wrong", tok)
		}
	})
}

// FuzzVerify: verifying arbitrary input never panics, and a token is only
// ever accepted when it is an HS256 JWT whose signature is the HMAC of its
// first two segments under the key: nothing unsigned, signed with another
// key or algorithm, or non-canonically encoded gets through.
func FuzzVerify(f *testing.F) {
	v, err := NewVerifier(VerifierConfig{Secret: []byte(fuzzSecret), Audience: "ssegate", Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if err != nil {
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token with %d segments", len(parts))
		}
		enc := base64.RawURLEncoding.Strict()
		header, err := enc.DecodeString(parts[0])
		if err != nil {
			t.Fatalf("accepted a non-canonical header: %v", err)
		}
		var h struct {
			Alg string `json:"alg"`
		}
		if err := json.Unmarshal(header, &h); err != nil || h.Alg != "HS256" {
			t.Fatalf("accepted alg %q (%v)", h.Alg, err)
		}
		sig, err := enc.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("accepted a non-canonical signature: %v", err)
		}
		mac := hmac.New(sha256.New, []byte(fuzzSecret))
		mac.Write([]byte(parts[0] + "." + parts[1]))
		if !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatalf("accepted a token not signed with the key: %q", token)
		}
		if !c.Expires.After(fuzzNow) {
			t.Fatalf("accepted a token expired at %v", c.Expires)
		}
	})
}

// TestFuzzCorpusHasAcceptedToken keeps the seed corpus useful: its valid
// seed must verify, so the fuzzer starts from a token that passes and
// mutates it, instead of exploring only refusals.
func TestFuzzCorpusHasAcceptedToken(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerify", "valid_hs256"))
	if err != nil {
		t.Fatal(err)
	}
	_, quoted, ok := strings.Cut(strings.TrimSpace(string(raw)), "string(")
	if !ok {
		t.Fatalf("unexpected corpus file: %q", raw)
	}
	tok, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Secret: []byte(fuzzSecret), Audience: "ssegate", Now: func() time.Time { return fuzzNow }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("valid seed refused: %v", err)
	}
	if len(c.Publish) != 1 || c.Publish[0] != "spools:*" {
		t.Fatalf("claims = %+v", c)
	}
}
