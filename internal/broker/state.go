package broker

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssegate/ssegate/internal/streamid"
)

// Keyed state: an event published with a key becomes that key's latest
// event in its topic's state, in the same atomic step that appends it to
// the history. A topic's state is the latest event of every key, kept
// apart from the history so that it outlives the history's trimming. A
// tombstone (PublishRequest.Delete) is an ordinary event in the history
// that removes its key from the state.

// ErrInvalidKey reports a state key that is empty, too long, not UTF-8 or
// holds a control character.
var ErrInvalidKey = errors.New("invalid state key")

// MaxKeyLen bounds a state key given in POST /v1/events, in bytes. Spool
// events use their tag_spool as the key (bounded by that field's limit).
const MaxKeyLen = 256

// StateConfig bounds a topic's keyed state.
type StateConfig struct {
	// MaxKeys is the most keys one topic's state holds. A publish with a
	// new key while the state holds MaxKeys (after expired ones were
	// dropped) evicts the key whose latest event is the oldest (lowest ID)
	// in the same atomic step; the event is always published, and the
	// evicted key's events stay in the history. Updating a key already
	// held never evicts.
	MaxKeys int64
	// MaxAge, when positive, drops a key whose latest event is older
	// (measured on the broker's clock by the event's ID): such entries are
	// skipped on read at once and removed by later keyed publishes of the
	// topic, before any key is evicted.
	MaxAge time.Duration
}

// DefaultStateMaxKeys is the key limit when none is configured.
const DefaultStateMaxKeys = 10000

// ValidateKey checks a state key given by a caller: 1 to MaxKeyLen bytes of
// UTF-8 without control characters (they would be invisible in logs and
// some clients' tables).
func ValidateKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(k) > MaxKeyLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	case !utf8.ValidString(k):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidKey)
	}
	for _, r := range k {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character %U", ErrInvalidKey, r)
		}
	}
	return nil
}

// StateEntry is one key's latest event.
type StateEntry struct {
	Key string
	Entry
}

// State is a topic's keyed state read in one atomic step.
type State struct {
	// Entries are the latest event of every key, in stream order (by ID).
	Entries []StateEntry
	// Position is the topic's newest ID at the time of the read (Zero when
	// the topic has no history): every entry is at or before it, and every
	// event after it was published after the read. A stream resumed from it
	// (Last-Event-ID) continues the state without gap or repetition.
	Position streamid.ID
}

// Expired reports whether an entry with id is older than maxAge at now (the
// broker's clock); maxAge <= 0 never expires.
func Expired(id streamid.ID, now time.Time, maxAge time.Duration) bool {
	if maxAge <= 0 {
		return false
	}
	cutoff := now.Add(-maxAge).UnixMilli()
	return cutoff > 0 && id.Ms < uint64(cutoff)
}
