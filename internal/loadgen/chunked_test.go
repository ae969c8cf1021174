package loadgen

import (
	"errors"
	"testing"
)

func TestBodyDecoder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		ended   bool
		badWant bool
	}{
		{name: "two chunks", in: "5\r\nhello\r\n6\r\n world\r\n", want: "hello world"},
		{name: "uppercase hex and extension", in: "A;name=v\r\n0123456789\r\n", want: "0123456789"},
		{name: "last chunk and trailer", in: "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", want: "abc", ended: true},
		{name: "last chunk no trailer", in: "1\r\nz\r\n0\r\n\r\n", want: "z", ended: true},
		{name: "bare LF tolerated", in: "2\nab\n0\n\n", want: "ab", ended: true},
		{name: "bad size", in: "zz\r\n", badWant: true},
		{name: "empty size", in: "\r\n", badWant: true},
		{name: "missing CRLF after data", in: "1\r\nab", badWant: true},
		{name: "oversized size", in: "1234567890abcdef0\r\n", badWant: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for cut := 0; cut <= len(tc.in); cut++ {
				d := bodyDecoder{chunked: true}
				var out []byte
				var err error
				for _, piece := range []string{tc.in[:cut], tc.in[cut:]} {
					b := []byte(piece)
					for len(b) > 0 && err == nil {
						var seg []byte
						seg, b, err = d.Next(b)
						out = append(out, seg...)
					}
					if err != nil {
						break
					}
				}
				switch {
				case tc.badWant:
					if !errors.Is(err, errBadChunk) {
						t.Fatalf("cut %d: err = %v, want errBadChunk", cut, err)
					}
					continue
				case tc.ended:
					if !errors.Is(err, errBodyEnded) {
						t.Fatalf("cut %d: err = %v, want errBodyEnded", cut, err)
					}
				case err != nil:
					t.Fatalf("cut %d: %v", cut, err)
				}
				if string(out) != tc.want {
					t.Fatalf("cut %d: got %q want %q", cut, out, tc.want)
				}
			}
		})
	}
}

func TestBodyDecoderIdentity(t *testing.T) {
	t.Parallel()
	var d bodyDecoder
	seg, rest, err := d.Next([]byte("data: x\n\n"))
	if err != nil || string(seg) != "data: x\n\n" || len(rest) != 0 {
		t.Fatalf("got %q %q %v", seg, rest, err)
	}
}
