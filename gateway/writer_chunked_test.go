package gateway

import (
	"strings"
	"testing"
)

// TestFrameChunk checks the one chunk framing both hijacked-socket writers
// use: the pool's workers (no head) and the chunkWriter (the response head
// in front of its first chunk).
func TestFrameChunk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		head    string
		payload string
		final   bool
		want    string
	}{
		{"empty payload", "", "", false, ""},
		{"empty payload, final", "", "", true, "0\r\n\r\n"},
		{"payload", "", "data: x\n\n", false, "9\r\ndata: x\n\n\r\n"},
		{"payload, final", "", "data: x\n\n", true, "9\r\ndata: x\n\n\r\n0\r\n\r\n"},
		{"hex size", "", strings.Repeat("a", 0x1ab), false, "1ab\r\n" + strings.Repeat("a", 0x1ab) + "\r\n"},
		{"head, payload", "HEAD\r\n\r\n", "data: x\n\n", false, "HEAD\r\n\r\n9\r\ndata: x\n\n\r\n"},
		{"head, no payload", "HEAD\r\n\r\n", "", false, "HEAD\r\n\r\n"},
		{"head, long head, big payload", strings.Repeat("h", 300), strings.Repeat("a", 0x10000), false,
			strings.Repeat("h", 300) + "10000\r\n" + strings.Repeat("a", 0x10000) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			buf := append([]byte(tt.head), make([]byte, chunkHeader)...)
			buf = append(buf, tt.payload...)
			if got := string(frameChunk(buf, len(tt.head), tt.final)); got != tt.want {
				t.Fatalf("frameChunk = %q, want %q", got, tt.want)
			}
		})
	}
}
