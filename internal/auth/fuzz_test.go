package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
		checkAcceptedParts(t, header, parts[1])
	})
}

// checkAcceptedParts: an accepted token has no crit header, and its claim
// set has a numeric exp and no case variant of a claim ssegate reads.
func checkAcceptedParts(t *testing.T, header []byte, payload string) {
	t.Helper()
	var h map[string]json.RawMessage
	if err := json.Unmarshal(header, &h); err != nil {
		t.Fatalf("accepted a header that is not an object: %v", err)
	}
	if _, ok := h["crit"]; ok {
		t.Fatalf("accepted a crit header %s", header)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		t.Fatalf("accepted a non-canonical payload: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("accepted a payload that is not an object: %v", err)
	}
	if exp := m["exp"]; len(exp) == 0 || (exp[0] != '-' && (exp[0] < '0' || exp[0] > '9')) {
		t.Fatalf("accepted exp %s: not a JSON number", exp)
	}
	checkNoCaseVariant(t, m)
}

// checkNoCaseVariant fails when a member name of m equals a known claim
// name only under case folding.
func checkNoCaseVariant(t *testing.T, m map[string]json.RawMessage) {
	t.Helper()
	for name := range m {
		for _, k := range knownClaims {
			if name != k && strings.EqualFold(name, k) {
				t.Fatalf("accepted the claim %q, a case variant of %q", name, k)
			}
		}
	}
}

// FuzzClaims: decoding an arbitrary claim set never panics; a refusal is
// always a *ClaimError or ErrNotObject (so the caller gets a clear
// reason); and an accepted claim set is a JSON object without case
// variants of known claims, whose known claims were read from exactly
// their own names, with NumericDates given as numbers.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(`{"exp":1,"ssegate.publish":["a"]}`))
	f.Add([]byte(`{"exp":1,"EXP":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c tokenClaims
		err := c.UnmarshalJSON(data)
		if err != nil {
			var ce *ClaimError
			if !errors.As(err, &ce) && !errors.Is(err, ErrNotObject) {
				t.Fatalf("refusal without a claim reason: %v", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted %q, not a JSON object: %v", data, err)
		}
		checkNoCaseVariant(t, m)
		for _, d := range []struct {
			name string
			got  *jwt.NumericDate
		}{{"exp", c.ExpiresAt}, {"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
			raw, ok := m[d.name]
			if ok != (d.got != nil) {
				t.Fatalf("%s present %v in %q, decoded %v", d.name, ok, data, d.got)
			}
			if ok && raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
				t.Fatalf("accepted %s %s: not a JSON number", d.name, raw)
			}
		}
		for name, got := range map[string][]string{PublishClaim: c.Publish, SubscribeClaim: c.Subscribe} {
			var want []string
			if raw, ok := m[name]; ok {
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("accepted %s %s: %v", name, raw, err)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s decoded as %q, the member %q says %q", name, got, name, want)
			}
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
