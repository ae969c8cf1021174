package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want time.Duration
	}{
		{"default", nil, nil, 15 * time.Second},
		{"env", map[string]string{"X_PING": "3s"}, nil, 3 * time.Second},
		{"flag beats env", map[string]string{"X_PING": "3s"}, []string{"-ping", "7s"}, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New("x", tt.env)
			var d time.Duration
			s.Duration(&d, "ping", "X_PING", 15*time.Second, "keepalive")
			if err := s.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if d != tt.want {
				t.Fatalf("got %v want %v", d, tt.want)
			}
		})
	}
}

func TestBadEnvIsAnError(t *testing.T) {
	t.Parallel()
	env := map[string]string{"X_D": "soon", "X_N": "many", "X_B": "perhaps", "X_F": "x"}
	s := New("x", env)
	var d time.Duration
	var n int
	var b bool
	var f float64
	s.Duration(&d, "d", "X_D", time.Second, "")
	s.Int(&n, "n", "X_N", 1, "")
	s.Bool(&b, "b", "X_B", false, "")
	s.Float(&f, "f", "X_F", 1, "")
	err := s.Parse(nil)
	if err == nil {
		t.Fatal("no error for bad environment values")
	}
	for _, name := range []string{"X_D", "X_N", "X_B", "X_F"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestUsageListsEverySetting(t *testing.T) {
	t.Parallel()
	s := New("gateway", nil)
	var a string
	var n int
	s.String(&a, "listen", "SSEGATE_LISTEN_ADDR", ":8080", "listen address")
	s.Int(&n, "queue-size", "SSEGATE_QUEUE_SIZE", 1024, "queue")
	var out bytes.Buffer
	s.PrintUsage(&out)
	for _, want := range []string{"-listen", "SSEGATE_LISTEN_ADDR", ":8080", "-queue-size", "SSEGATE_QUEUE_SIZE", "1024"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
	if got := List(" a, ,b ,"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("List = %q", got)
	}
}
