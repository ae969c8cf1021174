package topic

import (
	"errors"
	"testing"
)

// TestReservedNames: Redis's own channels (keyspace notifications,
// client-side caching, Sentinel) are not topics; names with underscores
// elsewhere are.
func TestReservedNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"__keyspace@0__:k", "__keyevent@0__:set", "__redis__:invalidate", "__sentinel__:hello", "__"} {
		if err := Validate(name, 0); !errors.Is(err, ErrReserved) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) = %v, want ErrReserved (an ErrInvalid)", name, err)
		}
		if _, err := ParseList([]string{"ok", name}, Default, 4, 0); !errors.Is(err, ErrReserved) {
			t.Errorf("ParseList with %q = %v, want ErrReserved", name, err)
		}
	}
	for _, name := range []string{"_", "_x", "a__b", "spools:__x", Default} {
		if err := Validate(name, 0); err != nil {
			t.Errorf("Validate(%q) = %v, want ok", name, err)
		}
	}
}
