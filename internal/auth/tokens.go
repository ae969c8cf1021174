package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"strings"
)

// Tokens is a set of static API tokens. It keeps only their SHA-256
// digests and compares a presented token against every digest with
// crypto/subtle, so neither the position of the first differing byte nor
// the length of the configured tokens shows in the response time.
// A Tokens is immutable and safe for concurrent use.
type Tokens struct {
	digests [][sha256.Size]byte
}

// NewTokens returns the set of non-empty tokens in list (surrounding
// spaces trimmed). A token that is not a valid RFC 6750 b64token could never
// be presented, so it is an error rather than a silent dead entry.
func NewTokens(list []string) (*Tokens, error) {
	t := &Tokens{}
	for i, tok := range list {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		if err := checkToken(tok); err != nil {
			return nil, fmt.Errorf("publish token #%d: not a valid bearer token (allowed: letters, digits and -._~+/, at most %d bytes)", i+1, MaxTokenLen)
		}
		t.digests = append(t.digests, sha256.Sum256([]byte(tok)))
	}
	return t, nil
}

// ReadTokensFile reads one token per line; blank lines and lines starting
// with "#" are skipped, and a trailing CR (a file written on Windows) is
// dropped.
func ReadTokensFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("publish tokens file: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxTokenLen+1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("publish tokens file %s: %w", path, err)
	}
	return out, nil
}

// Len returns how many tokens the set holds.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.digests)
}

// Match reports whether token is in the set, in time that depends only on
// the number of configured tokens.
func (t *Tokens) Match(token string) bool {
	if t == nil {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	found := 0
	for i := range t.digests {
		found |= subtle.ConstantTimeCompare(sum[:], t.digests[i][:])
	}
	return found == 1
}
