package wire

import (
	"strings"
	"unicode/utf8"
)

// Header values are printable US-ASCII: NATS headers follow RFC 7230. The
// CloudEvents NATS binding (section 3.1.3.2) says how a CloudEvents
// attribute, which may hold any UTF-8 text, becomes such a value:
// percent-encoding. gobus's own failure headers use a variant of it that
// keeps spaces readable (see HeaderValue).

const upperHex = "0123456789ABCDEF"

// EncodeAttribute percent-encodes a CloudEvents attribute value for a NATS
// header as the binding says: space, '"', '%' and every character outside
// printable ASCII (U+0021 to U+007E), control characters included, become
// %XY for each byte of their UTF-8 encoding, in upper-case hex. Other
// characters are left as they are, so a value that needs no encoding is
// returned without allocating.
func EncodeAttribute(s string) string {
	i := 0
	for i < len(s) && !attributeNeedsEncoding(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; attributeNeedsEncoding(c) {
			writePercent(&b, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func attributeNeedsEncoding(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '"' || c == '%'
}

func writePercent(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(upperHex[c>>4])
	b.WriteByte(upperHex[c&0x0f])
}

// DecodeAttribute reads a CloudEvents attribute from a NATS header value,
// as the binding says: a value that is one RFC 7230 quoted string is
// unquoted first (older versions of the binding allowed them), then one
// round of percent-decoding turns each %XY, in either case, into its byte.
// A '%' not followed by two hex digits is kept as it is: only a sender
// that does not encode writes one, and it meant the character. ok is false
// when the result is not valid UTF-8, which the binding says to reject
// (an overlong "%C0%A0" for instance).
func DecodeAttribute(v string) (s string, ok bool) {
	if u, quoted := unquote(v); quoted {
		v = u
	}
	if strings.IndexByte(v, '%') >= 0 {
		v = percentDecode(v)
	}
	return v, utf8.ValidString(v)
}

// unquote returns the content of v if v is exactly one quoted string:
// '"', then characters or backslash escapes of one character, then '"'.
func unquote(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v)-1:
			i++
			b.WriteByte(v[i])
		case c == '\\', c == '"':
			return "", false // the closing quote escaped, or one inside
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// percentDecode replaces each %XY of s by the byte it encodes.
func percentDecode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c, ok := percentByte(s, i); ok {
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// percentByte decodes the escape %XY at s[i], if there is one.
func percentByte(s string, i int) (byte, bool) {
	if s[i] != '%' || i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := fromHex(s[i+1])
	lo, ok2 := fromHex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
