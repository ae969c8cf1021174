package loadgen

import (
	"errors"
	"fmt"
)

// errBodyEnded is returned once a chunked body has reached its last chunk:
// the server finished the response, so the stream is over.
var errBodyEnded = errors.New("response body ended")

// errBadChunk reports malformed chunked transfer coding.
var errBadChunk = errors.New("malformed chunked encoding")

// Chunked decoder states (RFC 9112 §7.1).
const (
	chunkSize    uint8 = iota // reading hex digits of a chunk size
	chunkExt                  // skipping a chunk extension up to LF
	chunkData                 // inside chunk data; remain bytes left
	chunkDataEnd              // expecting CRLF after chunk data
	chunkTrailer              // reading trailer lines after the last chunk
	chunkDone                 // the body is complete
)

// bodyDecoder incrementally removes HTTP/1.1 chunked transfer coding (or
// passes an identity body through) without copying: Next returns segments of
// the input. The state is two words, because every connection has one.
type bodyDecoder struct {
	remain  int64
	digits  uint8
	state   uint8
	chunked bool
	lineLen uint8 // trailer: bytes on the current line (saturating)
}

// Next consumes a prefix of b and returns the body bytes found there (a
// sub-slice of b, possibly empty) and the unconsumed rest. Call it until rest
// is empty. It returns errBodyEnded after the terminating chunk.
func (d *bodyDecoder) Next(b []byte) (seg, rest []byte, err error) {
	if !d.chunked {
		return b, nil, nil
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch d.state {
		case chunkSize:
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
				if d.digits >= 15 {
					return nil, nil, fmt.Errorf("chunk size too long: %w", errBadChunk)
				}
				d.remain = d.remain<<4 | int64(hexVal(c))
				d.digits++
			case c == ';' || c == ' ' || c == '\t':
				d.state = chunkExt
			case c == '\r':
			case c == '\n':
				if err := d.endSizeLine(); err != nil {
					return nil, nil, err
				}
			default:
				return nil, nil, fmt.Errorf("byte %q in chunk size: %w", c, errBadChunk)
			}
		case chunkExt:
			if c == '\n' {
				if err := d.endSizeLine(); err != nil {
					return nil, nil, err
				}
			}
		case chunkData:
			n := int64(len(b) - i)
			if n > d.remain {
				n = d.remain
			}
			d.remain -= n
			if d.remain == 0 {
				d.state = chunkDataEnd
			}
			return b[i : i+int(n)], b[i+int(n):], nil
		case chunkDataEnd:
			switch c {
			case '\r':
			case '\n':
				d.state, d.remain, d.digits = chunkSize, 0, 0
			default:
				return nil, nil, fmt.Errorf("byte %q after chunk data: %w", c, errBadChunk)
			}
		case chunkTrailer:
			switch c {
			case '\r':
			case '\n':
				if d.lineLen == 0 {
					d.state = chunkDone
					return nil, nil, errBodyEnded
				}
				d.lineLen = 0
			default:
				if d.lineLen < 255 {
					d.lineLen++
				}
			}
		case chunkDone:
			return nil, nil, errBodyEnded
		}
	}
	return nil, nil, nil
}

// endSizeLine finishes a chunk-size line.
func (d *bodyDecoder) endSizeLine() error {
	if d.digits == 0 {
		return fmt.Errorf("empty chunk size: %w", errBadChunk)
	}
	if d.remain == 0 {
		d.state, d.lineLen = chunkTrailer, 0
		return nil
	}
	d.state = chunkData
	return nil
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
