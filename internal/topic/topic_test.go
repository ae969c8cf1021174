package topic

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"spools:updates", true},
		{"spool:SP-1042", true},
		{"a.b/c@d=e+f_g", true},
		{"", false},
		{"has space", false},
		{"brace{tag}", false},
		{"star*", false},
		{"ñandú", false},
		{"\xff\xfe", false},
		{"new\nline", false},
		{strings.Repeat("a", MaxLen), true},
		{strings.Repeat("a", MaxLen+1), false},
	}
	for _, tt := range tests {
		err := Validate(tt.name, 0)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) error %v is not ErrInvalid", tt.name, err)
		}
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	got, err := ParseList([]string{"b", "a", "b"}, Default, 2, 0)
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ParseList = %v, %v", got, err)
	}
	got, err = ParseList(nil, Default, 2, 0)
	if err != nil || !slices.Equal(got, []string{Default}) {
		t.Fatalf("default = %v, %v", got, err)
	}
	if _, err := ParseList([]string{"a", "b", "c"}, Default, 2, 0); !errors.Is(err, ErrTooMany) {
		t.Fatalf("too many: %v", err)
	}
	if _, err := ParseList([]string{"ok", "bad topic"}, Default, 2, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid: %v", err)
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"spools:updates", "spools:updates", true},
		{"spools:updates", "spools:updates2", false},
		{"spools:*", "spools:updates", true},
		{"spools:*", "spools:", true},
		{"spools:*", "spools", false},
		{"*", "anything", true},
		{"spool*x", "spoolAx", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q,%q) = %v", tt.pattern, tt.name, got)
		}
	}
}

func FuzzTopic(f *testing.F) {
	f.Add("spools:updates", "spools:*")
	f.Add("a{b}", "*")
	f.Fuzz(func(t *testing.T, name, pattern string) {
		if Validate(name, 0) == nil {
			if strings.ContainsAny(name, "{}* \r\n\x00") || len(name) > MaxLen {
				t.Fatalf("accepted %q", name)
			}
		}
		if Match(pattern, name) && !strings.HasSuffix(pattern, "*") && pattern != name {
			t.Fatalf("%q matched %q", pattern, name)
		}
		if Match(pattern, name) && strings.HasSuffix(pattern, "*") && !strings.HasPrefix(name, strings.TrimSuffix(pattern, "*")) {
			t.Fatalf("%q matched %q", pattern, name)
		}
	})
}
