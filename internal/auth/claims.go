package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Why a claim set is refused while it is decoded (wrapped in a *ClaimError).
var (
	// ErrClaimCaseVariant: a member name equals a known claim name except
	// for case ("EXP", "Aud", "SSEGATE.PUBLISH"). RFC 7519 §4 claim names
	// are case-sensitive, so such a member is not the claim; but
	// encoding/json would have matched it case-insensitively, and an issuer
	// or a proxy that folds case may read it as the claim. The token is
	// ambiguous, so it is refused rather than silently ignored.
	ErrClaimCaseVariant = errors.New("another claim name differs from it only in case (claim names are case-sensitive)")
	// ErrClaimDuplicate: a known claim appears twice. RFC 7519 §4 lets a
	// parser reject duplicates or take the last; rejecting leaves no doubt.
	ErrClaimDuplicate = errors.New("appears more than once")
	// ErrClaimType: a known claim has the wrong JSON type. exp, nbf and iat
	// are NumericDates, JSON numbers (RFC 7519 §2), never strings;
	// iss, sub and jti are strings; aud a string or an array of strings;
	// the topic claims arrays of strings.
	ErrClaimType = errors.New("has the wrong JSON type")
	// ErrNotObject: the claim set is not one JSON object.
	ErrNotObject = errors.New("the claim set is not a JSON object")
)

// ClaimError is a claim set refused while decoding. Claim is one of the
// known claim names below, never a name taken from the token, and Error
// is built from fixed phrases only, so it is safe to show to the caller.
type ClaimError struct {
	Claim string
	Err   error // ErrClaimCaseVariant, ErrClaimDuplicate or ErrClaimType
	Cause error // the decoding error behind ErrClaimType, or nil
}

// Error says which claim and why (not Cause: it is a JSON library message).
func (e *ClaimError) Error() string {
	if errors.Is(e.Err, ErrClaimType) {
		return fmt.Sprintf("claim %q %v (want %s)", e.Claim, e.Err, wantType(e.Claim))
	}
	return fmt.Sprintf("claim %q %v", e.Claim, e.Err)
}

// Unwrap returns the reason and its cause.
func (e *ClaimError) Unwrap() []error { return []error{e.Err, e.Cause} }

// wantType names the JSON type a known claim must have.
func wantType(claim string) string {
	switch claim {
	case "exp", "nbf", "iat":
		return "a NumericDate: a JSON number of seconds, not a string"
	case "aud":
		return "a string or an array of strings"
	case PublishClaim, SubscribeClaim:
		return "an array of topic patterns"
	}
	return "a string"
}

// knownClaims are the claim names ssegate reads: the RFC 7519 §4.1
// registered names and its two topic claims. Every other member of a claim
// set is ignored.
var knownClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", PublishClaim, SubscribeClaim}

// tokenClaims is the JSON shape of a token's payload:
//
//	{"exp":1767225600,"aud":"ssegate","ssegate.publish":["spools:*"],"ssegate.subscribe":["spools:updates"]}
//
// It decodes names exactly (see UnmarshalJSON); the embedded
// RegisteredClaims provide the jwt.Claims getters the validator uses.
type tokenClaims struct {
	jwt.RegisteredClaims
	Publish   []string
	Subscribe []string
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	name string
	raw  json.RawMessage
}

// UnmarshalJSON decodes a claim set with case-sensitive names, unlike
// encoding/json's struct decoding (which would let "EXP" fill ExpiresAt).
// It refuses a case variant or a duplicate of a known claim and a known
// claim of the wrong type (*ClaimError), and ignores every other member.
func (c *tokenClaims) UnmarshalJSON(data []byte) error {
	members, err := objectMembers(data)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(knownClaims))
	for _, m := range members {
		known, exact := knownName(m.name)
		switch {
		case known == "":
			continue
		case !exact:
			return &ClaimError{Claim: known, Err: ErrClaimCaseVariant}
		case seen[known]:
			return &ClaimError{Claim: known, Err: ErrClaimDuplicate}
		}
		seen[known] = true
		if err := c.set(known, m.raw); err != nil {
			return &ClaimError{Claim: known, Err: ErrClaimType, Cause: err}
		}
	}
	return nil
}

// knownName returns the known claim name equal to name, or equal to it
// under Unicode case folding (exact false), or "".
func knownName(name string) (known string, exact bool) {
	for _, k := range knownClaims {
		if name == k {
			return k, true
		}
	}
	for _, k := range knownClaims {
		if strings.EqualFold(name, k) {
			return k, false
		}
	}
	return "", false
}

// set decodes the value of the known claim name into c.
func (c *tokenClaims) set(name string, raw json.RawMessage) error {
	switch name {
	case "exp":
		return numericDate(raw, &c.ExpiresAt)
	case "nbf":
		return numericDate(raw, &c.NotBefore)
	case "iat":
		return numericDate(raw, &c.IssuedAt)
	case "iss":
		return jsonString(raw, &c.Issuer)
	case "sub":
		return jsonString(raw, &c.Subject)
	case "jti":
		return jsonString(raw, &c.ID)
	case "aud":
		return c.Audience.UnmarshalJSON(raw)
	case PublishClaim:
		return json.Unmarshal(raw, &c.Publish)
	case SubscribeClaim:
		return json.Unmarshal(raw, &c.Subscribe)
	}
	return nil
}

// numericDate decodes a NumericDate (RFC 7519 §2): a JSON number of
// seconds. A string such as "1767225600" is refused, although
// jwt.NumericDate.UnmarshalJSON would accept it.
func numericDate(raw json.RawMessage, dst **jwt.NumericDate) error {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return errors.New("a NumericDate must be a JSON number")
	}
	d := new(jwt.NumericDate)
	if err := d.UnmarshalJSON(raw); err != nil {
		return err
	}
	*dst = d
	return nil
}

// jsonString decodes a JSON string (not null, not a number).
func jsonString(raw json.RawMessage, dst *string) error {
	if len(raw) == 0 || raw[0] != '"' {
		return errors.New("want a JSON string")
	}
	return json.Unmarshal(raw, dst)
}

// objectMembers splits one JSON object into its members, in order and
// with duplicates kept, so that names can be compared exactly.
func objectMembers(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
		}
		name, _ := tok.(string) // inside an object, Token returns names as strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
		}
		out = append(out, member{name: name, raw: raw})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, ErrNotObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the object", ErrNotObject)
	}
	return out, nil
}
