// Package topic validates topic names and matches them against the patterns
// that authorization claims use.
//
// A topic is a Redis pub/sub channel of the same name, and its history lives in
// a stream whose key puts the whole topic name in a hash tag ("{name}"), so the
// stream and the channel hash to the same Redis Cluster slot. That is why
// braces are not allowed in names: a brace would change which part of the key
// Redis hashes.
package topic

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Default is the topic of the old system's spool updates.
const Default = "spools:updates"

// MaxLen is the default longest topic name accepted.
const MaxLen = 128

// MaxLenLimit is the most a deployment may raise MaxLen to: a topic name is
// in every channel message's routing and every history key, and a
// connection's ids carry one position per topic, not its name, so names
// stay short.
const MaxLenLimit = 1024

// ErrInvalid reports a topic name that is empty, too long or uses a character
// outside the allowed set.
var ErrInvalid = errors.New("invalid topic")

// ErrReserved reports a topic name in the namespace Redis keeps for its own
// channels: keyspace notifications ("__keyspace@0__:key",
// "__keyevent@0__:set") and client-side caching invalidations
// ("__redis__:invalidate") are published on channels whose names begin with
// "__". A topic is a channel of the same name, so such a topic would stream
// what Redis publishes there (the key names of every application on the
// server) or let a publisher forge it. It wraps ErrInvalid.
var ErrReserved = fmt.Errorf("%w: names beginning with %q are reserved for Redis", ErrInvalid, ReservedPrefix)

// ReservedPrefix begins the names of Redis's own pub/sub channels.
const ReservedPrefix = "__"

// ErrTooMany reports a request for more topics than allowed on one connection.
var ErrTooMany = errors.New("too many topics")

// allowed reports whether c may appear in a topic name: ASCII letters,
// digits and the punctuation ":_-./@=+".
func allowed(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte(":_-./@=+", c) >= 0
}

// Validate checks one topic name against the allowed characters and maxLen
// (MaxLen when maxLen <= 0), and refuses the names Redis reserves for its
// own channels (ErrReserved).
func Validate(name string, maxLen int) error {
	if maxLen <= 0 {
		maxLen = MaxLen
	}
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalid)
	}
	if len(name) > maxLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxLen)
	}
	for i := 0; i < len(name); i++ {
		if !allowed(name[i]) {
			return fmt.Errorf("%w: character %q at offset %d (allowed: letters, digits and :_-./@=+)", ErrInvalid, name[i], i)
		}
	}
	if strings.HasPrefix(name, ReservedPrefix) {
		return fmt.Errorf("topic %q: %w", name, ErrReserved)
	}
	return nil
}

// ParseList validates names and returns them sorted and de-duplicated, the
// canonical order that multi-topic event ids follow. An empty list yields
// def. More than max distinct topics (when max > 0) is ErrTooMany.
func ParseList(names []string, def string, max, maxLen int) ([]string, error) {
	if len(names) == 0 {
		names = []string{def}
	}
	if max > 0 && len(names) > 4*max {
		return nil, fmt.Errorf("%w: %d requested, at most %d", ErrTooMany, len(names), max)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if err := Validate(n, maxLen); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if max > 0 && len(out) > max {
		return nil, fmt.Errorf("%w: %d requested, at most %d", ErrTooMany, len(out), max)
	}
	return out, nil
}

// Match reports whether name matches pattern. A pattern is an exact topic
// name, "*" (every topic) or a prefix followed by "*" ("spools:*" matches
// "spools:updates" and "spools:SP-1" but not "spools"). No other wildcard is
// recognised, so a pattern can never match more than its author can read.
func Match(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}

// MatchAny reports whether name matches one of patterns.
func MatchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}
