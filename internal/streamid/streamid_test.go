package streamid

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ID
		ok   bool
	}{
		{"0-0", ID{}, true},
		{"1732650000000-5", ID{1732650000000, 5}, true},
		{"18446744073709551615-18446744073709551615", ID{^uint64(0), ^uint64(0)}, true},
		{"", ID{}, false},
		{"5", ID{}, false},
		{"-1", ID{}, false},
		{"1-", ID{}, false},
		{"1--1", ID{}, false},
		{"+1-0", ID{}, false},
		{" 1-0", ID{}, false},
		{"01-0", ID{}, false},
		{"18446744073709551616-0", ID{}, false},
		{"1-0_2-0", ID{}, false},
		{"abc", ID{}, false},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) error %v is not ErrMalformed", tt.in, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("round trip %q -> %q", tt.in, got.String())
		}
	}
}

func TestCompareAndNext(t *testing.T) {
	t.Parallel()
	a, b := ID{1, 5}, ID{2, 0}
	if !a.Less(b) || b.Less(a) || a.Compare(a) != 0 {
		t.Fatal("ordering wrong")
	}
	if a.Next() != (ID{1, 6}) || (ID{1, ^uint64(0)}).Next() != (ID{2, 0}) {
		t.Fatal("Next wrong")
	}
	if Later(a, b) != b || Later(b, a) != b || Later(a, a) != a {
		t.Fatal("Later wrong")
	}
}

func TestParsePosition(t *testing.T) {
	t.Parallel()
	p, err := ParsePosition("1-0_0-0_3-2", 3)
	if err != nil || len(p) != 3 || p[2] != (ID{3, 2}) || p.String() != "1-0_0-0_3-2" {
		t.Fatalf("ParsePosition = %v, %v", p, err)
	}
	for _, bad := range []struct {
		s string
		n int
	}{{"1-0", 2}, {"1-0_2-0", 1}, {"1-0__2-0", 3}, {"", 1}, {"1-0_x", 2}, {"1-0", 0}} {
		if _, err := ParsePosition(bad.s, bad.n); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePosition(%q,%d) err = %v", bad.s, bad.n, err)
		}
	}
}

func FuzzParsePosition(f *testing.F) {
	f.Add("1-0", 1)
	f.Add("1-0_2-3", 2)
	f.Add("99999999999999999999-0", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n > 64 {
			n = 64
		}
		p, err := ParsePosition(s, n)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v not ErrMalformed", err)
			}
			return
		}
		if len(p) != n || p.String() != s {
			t.Fatalf("round trip %q -> %q (n=%d)", s, p.String(), n)
		}
	})
}
