// Package redact hides credentials in URLs before they reach a message: a
// log line, a start-up error, a panic. Every message that can contain a
// configured URL (the Redis URL, a gateway URL given to ssebench) goes
// through it, whether or not the URL parses: net/url's own errors quote the
// whole string, and a malformed URL is exactly when people paste secrets
// into bug reports.
package redact

import (
	"net/url"
	"strconv"
	"strings"
)

// Mask replaces a hidden password (or a lone user name, which is often a
// token) in a redacted URL.
const Mask = "xxxxx"

// minSecret is the shortest password Error looks for as bare text.
const minSecret = 4

// URL returns raw with its credentials masked: "redis://app:secret@h:6379/0"
// becomes "redis://app:xxxxx@h:6379/0" (url.URL.Redacted), "https://token@h"
// becomes "https://xxxxx@h". A string that does not parse as a URL, or
// whose "@" net/url did not take for the user information, has everything
// between "://" (or its start) and its last "@" masked.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		u.User = url.User(Mask)
		return u.String()
	}
	start, end, ok := userinfo(raw)
	if !ok {
		return raw
	}
	return raw[:start] + Mask + raw[end:]
}

// userinfo locates, as text, what may be the user information of raw:
// after "://" (or from the start) up to the last "@". It works on strings
// that do not parse, and masks too much rather than too little.
func userinfo(raw string) (start, end int, ok bool) {
	end = strings.LastIndex(raw, "@")
	if end < 0 {
		return 0, 0, false
	}
	if i := strings.Index(raw, "://"); i >= 0 && i < end {
		start = i + len("://")
	}
	return start, end, true
}

// Error returns err with raw's credentials removed from its message; the
// chain is kept (errors.Is and errors.As see err). It removes raw itself
// (shown as URL(raw)), the user information and its password, and every quoted
// piece of the message taken from the user information: net/url quotes
// the bad part ("invalid port \":se\"" from a password with an unescaped
// "/", "invalid URL escape \"%zz\"").
func Error(err error, raw string) error {
	if err == nil {
		return nil
	}
	start, end, ok := userinfo(raw)
	if !ok {
		return err
	}
	info := raw[start:end]
	msg := strings.ReplaceAll(err.Error(), raw, URL(raw))
	msg = maskQuoted(msg, info)
	msg = strings.ReplaceAll(msg, info, Mask)
	// The password alone, as written and unescaped. A user name beside a
	// password is kept, as URL keeps it; pieces under minSecret bytes are
	// no secret worth garbling the message for.
	if _, pass, ok := strings.Cut(info, ":"); ok {
		secrets := []string{pass}
		if p, perr := url.PathUnescape(pass); perr == nil {
			secrets = append(secrets, p)
		}
		for _, s := range secrets {
			if len(s) >= minSecret {
				msg = strings.ReplaceAll(msg, s, Mask)
			}
		}
	}
	return &redacted{msg: msg, err: err}
}

// maskQuoted replaces each Go-quoted string of msg whose content is part
// of info (or contains it) with a quoted Mask.
func maskQuoted(msg, info string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			break
		}
		q, qerr := strconv.QuotedPrefix(msg[i:])
		if qerr != nil {
			b.WriteString(msg[:i+1])
			msg = msg[i+1:]
			continue
		}
		b.WriteString(msg[:i])
		msg = msg[i+len(q):]
		if s, _ := strconv.Unquote(q); s != "" && (strings.Contains(info, s) || strings.Contains(s, info)) {
			q = strconv.Quote(Mask)
		}
		b.WriteString(q)
	}
	b.WriteString(msg)
	return b.String()
}

// redacted is an error with a cleaned message over the original chain.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
