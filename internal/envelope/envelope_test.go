package envelope

import (
	"errors"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/streamid"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.UnixMicro(1732650000123456)
	msg := Append(nil, streamid.ID{Ms: 17, Seq: 2}, at, "spool update", []byte("a\nb"))
	env, ok, err := Decode(msg)
	if err != nil || !ok {
		t.Fatalf("Decode = %v %v", ok, err)
	}
	if env.ID != (streamid.ID{Ms: 17, Seq: 2}) || !env.AcceptedAt.Equal(at) || env.Event != "spool update" || string(env.Data) != "a\nb" {
		t.Fatalf("got %+v", env)
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg     string
		wantOK  bool
		wantErr bool
	}{
		{`{"event_type":"TOMAR"}`, false, false},
		{"", false, false},
		{Prefix + "1-0 5 \n{}", true, false},
		{Prefix + "1-0 5", true, true},
		{Prefix + "x 5 \n{}", true, true},
		{Prefix + "1-0 y \n{}", true, true},
		{Prefix + "1-0\n{}", true, true},
	}
	for _, tt := range tests {
		env, ok, err := Decode([]byte(tt.msg))
		if ok != tt.wantOK || (err != nil) != tt.wantErr {
			t.Errorf("Decode(%q) = %v, %v", tt.msg, ok, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("error %v", err)
		}
		if !ok && string(env.Data) != tt.msg {
			t.Errorf("raw data %q", env.Data)
		}
	}
}
