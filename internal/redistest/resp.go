package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Kind says which RESP type a Reply came from.
type Kind int

// The RESP reply kinds a Reply can hold. RESP3-only types (maps, sets,
// doubles, booleans, big numbers, verbatim strings) are folded into the
// closest RESP2 kind, because this client never sends HELLO 3 and only
// sees them if a proxy upgrades the protocol.
const (
	KindNil    Kind = iota // a null bulk string or null array
	KindSimple             // +OK
	KindInt                // :42
	KindBulk               // $3\r\nfoo
	KindArray              // *2 ...
)

// Reply is one decoded RESP reply. It keeps the nested shape so tests can
// walk structured replies such as CLUSTER SLOTS, and offers flattened views
// (String, Strings) for the common "just give me the text" case.
type Reply struct {
	Kind  Kind
	Str   string  // KindSimple and KindBulk; the decimal text for KindInt
	Int   int64   // KindInt
	Elems []Reply // KindArray
}

// String flattens the reply to text: integers in decimal, strings as they
// are, nil as "", arrays as their flattened elements joined by single spaces.
func (r Reply) String() string {
	return strings.Join(r.Strings(), " ")
}

// Strings flattens the reply into its leaves, depth first: an array becomes
// the list of all the scalars inside it, a scalar a one-element list, nil
// an empty string element (so positions in flat arrays are preserved).
func (r Reply) Strings() []string {
	switch r.Kind {
	case KindArray:
		out := make([]string, 0, len(r.Elems))
		for _, e := range r.Elems {
			out = append(out, e.Strings()...)
		}
		return out
	default:
		return []string{r.Str}
	}
}

// ReplyError is an error reply from Redis ("-ERR ...", "-MOVED ...").
// It is returned by Exec so callers can tell a server-side refusal from an
// I/O failure with errors.As.
type ReplyError struct {
	Msg string // the text after '-', e.g. "ERR unknown command"
}

// Error returns the server's message.
func (e *ReplyError) Error() string { return "redis: " + e.Msg }

// defaultCommandTimeout bounds one Exec when the caller's context has no
// deadline, so a wedged server fails a test instead of hanging it.
const defaultCommandTimeout = 5 * time.Second

// Limits that keep a corrupt or hostile reply from exhausting memory.
const (
	maxReplyDepth   = 16
	maxBulkLen      = 64 << 20
	maxArrayEntries = 1 << 20
)

// Exec runs one command against addr over a fresh, short-lived connection
// (RESP2, no pipelining) and returns the decoded reply. A Redis error reply
// is returned as a *ReplyError. A short-lived connection per call keeps the
// helper free of background goroutines and connection state: it is meant
// for test assertions and probes, not for load.
func Exec(ctx context.Context, addr string, args ...string) (Reply, error) {
	return execAuth(ctx, addr, nil, args)
}

// execAuth is Exec preceded by the command auth (AUTH …) when not nil.
func execAuth(ctx context.Context, addr string, auth, args []string) (Reply, error) {
	if len(args) == 0 {
		return Reply{}, errors.New("redistest: Exec needs a command")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCommandTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Reply{}, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return Reply{}, fmt.Errorf("set deadline on %s: %w", addr, err)
		}
	}
	br := bufio.NewReader(conn)
	if auth != nil {
		if _, err := conn.Write(encodeCommand(auth)); err != nil {
			return Reply{}, fmt.Errorf("AUTH to %s: write: %w", addr, err)
		}
		if _, err := readReply(br, 0); err != nil {
			return Reply{}, fmt.Errorf("AUTH to %s: %w", addr, err)
		}
	}
	if _, err := conn.Write(encodeCommand(args)); err != nil {
		return Reply{}, fmt.Errorf("%s to %s: write: %w", args[0], addr, err)
	}
	r, err := readReply(br, 0)
	if err != nil {
		var re *ReplyError
		if errors.As(err, &re) {
			return Reply{}, err
		}
		return Reply{}, fmt.Errorf("%s to %s: read: %w", args[0], addr, err)
	}
	return r, nil
}

// encodeCommand renders args as a RESP array of bulk strings, the form
// every Redis command is sent in.
func encodeCommand(args []string) []byte {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readReply decodes one reply. An error reply nested in an array (as EXEC
// can return) becomes the array's error: tests want to know.
func readReply(br *bufio.Reader, depth int) (Reply, error) {
	if depth > maxReplyDepth {
		return Reply{}, errors.New("reply nested too deeply")
	}
	line, err := readLine(br)
	if err != nil {
		return Reply{}, err
	}
	if len(line) == 0 {
		return Reply{}, errors.New("empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return Reply{Kind: KindSimple, Str: body}, nil
	case '-', '!':
		if line[0] == '!' { // RESP3 blob error
			s, err := readBulk(br, body)
			if err != nil {
				return Reply{}, err
			}
			body = s
		}
		return Reply{}, &ReplyError{Msg: body}
	case ':', '(':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil && line[0] == ':' {
			return Reply{}, fmt.Errorf("bad integer %q: %w", body, err)
		}
		return Reply{Kind: KindInt, Int: n, Str: body}, nil
	case ',':
		return Reply{Kind: KindSimple, Str: body}, nil
	case '#':
		if body == "t" {
			return Reply{Kind: KindInt, Int: 1, Str: "1"}, nil
		}
		return Reply{Kind: KindInt, Int: 0, Str: "0"}, nil
	case '_':
		return Reply{Kind: KindNil}, nil
	case '$', '=':
		if body == "-1" {
			return Reply{Kind: KindNil}, nil
		}
		s, err := readBulk(br, body)
		if err != nil {
			return Reply{}, err
		}
		if line[0] == '=' && len(s) >= 4 { // verbatim: "txt:" prefix
			s = s[4:]
		}
		return Reply{Kind: KindBulk, Str: s}, nil
	case '*', '~', '>', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return Reply{}, fmt.Errorf("bad array length %q: %w", body, err)
		}
		if n < 0 {
			return Reply{Kind: KindNil}, nil
		}
		if line[0] == '%' {
			n *= 2 // a map is read as a flat key, value, key, value array
		}
		if n > maxArrayEntries {
			return Reply{}, fmt.Errorf("array of %d entries is too large", n)
		}
		elems := make([]Reply, 0, n)
		var firstErr error
		for range n {
			e, err := readReply(br, depth+1)
			if err != nil {
				var re *ReplyError
				if !errors.As(err, &re) {
					return Reply{}, err
				}
				if firstErr == nil {
					firstErr = err
				}
			}
			elems = append(elems, e)
		}
		if firstErr != nil {
			return Reply{}, firstErr
		}
		return Reply{Kind: KindArray, Elems: elems}, nil
	default:
		return Reply{}, fmt.Errorf("unknown reply type %q", line[0])
	}
}

// readLine reads one CRLF-terminated line and returns it without the CRLF.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("line %q does not end in CRLF", line)
	}
	return line[:len(line)-2], nil
}

// readBulk reads the payload of a length-prefixed string whose length
// header has already been read.
func readBulk(br *bufio.Reader, lenText string) (string, error) {
	n, err := strconv.Atoi(lenText)
	if err != nil || n < 0 || n > maxBulkLen {
		return "", fmt.Errorf("bad bulk length %q", lenText)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		return "", fmt.Errorf("read bulk payload: %w", err)
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return "", errors.New("bulk payload not terminated by CRLF")
	}
	return string(buf[:n]), nil
}
