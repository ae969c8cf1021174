// Package streamid parses and formats event positions.
//
// Every event that goes through the publisher is appended to a per-topic Redis
// Stream; its stream ID ("<milliseconds>-<sequence>") is its position in that
// topic and travels to browsers as the SSE "id:" field. A connection that
// follows several topics needs its position in each of them, so its ids are
// Positions: one ID per topic, in the order of the connection's sorted topic
// list, joined with "_". Browsers send the last one back in Last-Event-ID when
// they reconnect, which is how a stream resumes without loss.
package streamid

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformed reports text that is not a stream ID or Position.
var ErrMalformed = errors.New("malformed event id")

// ID is a Redis stream ID. The zero ID ("0-0") sorts before every real entry.
type ID struct {
	Ms  uint64
	Seq uint64
}

// Zero is the position before every entry of a topic.
var Zero = ID{}

// maxIDLen bounds the text of one ID: two uint64 and a dash.
const maxIDLen = 41

// Parse parses "<ms>-<seq>". Unlike Redis it requires both parts, so that an
// id a client sends back is exactly one that was sent to it.
func Parse(s string) (ID, error) {
	if len(s) == 0 || len(s) > maxIDLen {
		return ID{}, fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
	}
	msText, seqText, ok := strings.Cut(s, "-")
	if !ok {
		return ID{}, fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
	}
	ms, err1 := parseUint(msText)
	seq, err2 := parseUint(seqText)
	if err1 != nil || err2 != nil {
		return ID{}, fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
	}
	return ID{Ms: ms, Seq: seq}, nil
}

// parseUint accepts only plain decimal digits (no sign, no spaces).
func parseUint(s string) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, ErrMalformed
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrMalformed
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// String formats the ID the way Redis does.
func (id ID) String() string {
	return string(id.Append(nil))
}

// Append appends the text form of id to dst.
func (id ID) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, id.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Seq, 10)
}

// Compare returns -1, 0 or +1 as id sorts before, equal to or after other.
func (id ID) Compare(other ID) int {
	switch {
	case id.Ms < other.Ms:
		return -1
	case id.Ms > other.Ms:
		return 1
	case id.Seq < other.Seq:
		return -1
	case id.Seq > other.Seq:
		return 1
	}
	return 0
}

// Less reports whether id sorts before other.
func (id ID) Less(other ID) bool { return id.Compare(other) < 0 }

// Later returns whichever of a and b sorts last.
func Later(a, b ID) ID {
	if a.Less(b) {
		return b
	}
	return a
}

// IsZero reports whether id is the position before every entry.
func (id ID) IsZero() bool { return id == ID{} }

// Next returns the smallest ID after id; it lets an exclusive bound be written
// as an inclusive one.
func (id ID) Next() ID {
	if id.Seq == ^uint64(0) {
		return ID{Ms: id.Ms + 1}
	}
	return ID{Ms: id.Ms, Seq: id.Seq + 1}
}

// Separator joins the IDs of a Position.
const Separator = '_'

// Position is a connection's place in each of its topics, in the order of
// its sorted topic list.
type Position []ID

// ParsePosition parses a Last-Event-ID for a connection with n topics.
func ParsePosition(s string, n int) (Position, error) {
	if n <= 0 || len(s) > n*(maxIDLen+1) {
		return nil, fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
	}
	pos := make(Position, 0, n)
	for part := range strings.SplitSeq(s, string(Separator)) {
		if len(pos) == n {
			return nil, fmt.Errorf("%w: more than %d positions", ErrMalformed, n)
		}
		id, err := Parse(part)
		if err != nil {
			return nil, err
		}
		pos = append(pos, id)
	}
	if len(pos) != n {
		return nil, fmt.Errorf("%w: %d positions for %d topics", ErrMalformed, len(pos), n)
	}
	return pos, nil
}

// Append appends the text form of p to dst.
func (p Position) Append(dst []byte) []byte {
	for i, id := range p {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = id.Append(dst)
	}
	return dst
}

// String formats p as it travels in an SSE id.
func (p Position) String() string { return string(p.Append(nil)) }
