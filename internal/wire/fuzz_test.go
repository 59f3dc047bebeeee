package wire_test

// Fuzz targets for what gobus reads off the wire. Their seed corpora, under
// testdata/fuzz, run as ordinary tests; to fuzz, run for example
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 20s ./internal/wire

import (
	"errors"
	"math"
	"mime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/wire"
)

// FuzzParse feeds Parse the headers of a NATS header block as nats.go
// decodes them on receipt (a block it cannot decode arrives without
// headers). Parse either fails with ErrMalformed or returns an envelope
// with the required attributes; it gives the same answer every time; and
// what gobus writes from an envelope it reads back unchanged.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, block []byte) {
		h, err := nats.DecodeHeadersMsg(block)
		if err != nil {
			h = nil
		}
		data := []byte("body")
		e, err := wire.Parse(h, data)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			if e != nil {
				t.Fatalf("an envelope with the error %v", err)
			}
			return
		}
		if e.ID == "" || e.Type == "" || e.Source == "" {
			t.Fatalf("accepted an envelope without id, type or source: %+v", e)
		}
		if e.ContentType == "" || e.CorrelationID == "" {
			t.Fatalf("content type or correlation id not defaulted: %+v", e)
		}
		if string(e.Data) != "body" {
			t.Fatalf("data %q, want the body", e.Data)
		}
		repeats := 2
		if foldedTwice(h) {
			repeats = 64 // one name in two cases: map order must not decide
		}
		for range repeats {
			again, err := wire.Parse(h, data)
			if err != nil || !sameEnvelope(e, again) {
				t.Fatalf("Parse is not deterministic: %+v, then %+v (%v)", e, again, err)
			}
		}
		m := e.Message("gobus.cmd.x.y")
		back, err := wire.Parse(m.Header, m.Data)
		if err != nil {
			t.Fatalf("gobus cannot read what it writes from %+v: %v", e, err)
		}
		if !sameEnvelope(e, back) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", e, back)
		}
	})
}

// foldedTwice reports whether two header names in h differ only in case.
func foldedTwice(h nats.Header) bool {
	seen := map[string]bool{}
	for k := range h {
		lk := strings.ToLower(k)
		if seen[lk] {
			return true
		}
		seen[lk] = true
	}
	return false
}

func sameEnvelope(a, b *wire.Envelope) bool {
	return a.ID == b.ID && a.Type == b.Type && a.Source == b.Source && a.Time.Equal(b.Time) && a.Structured == b.Structured &&
		a.ContentType == b.ContentType && a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID &&
		a.Intent == b.Intent && a.ReplyTo == b.ReplyTo && a.TraceParent == b.TraceParent &&
		a.TraceState == b.TraceState && string(a.Data) == string(b.Data)
}

// FuzzHeaderValue checks that HeaderValue's output is printable ASCII
// (space included), keeps to its limit, cuts only between escapes and UTF-8
// characters, and unescapes to the input when it is not cut.
func FuzzHeaderValue(f *testing.F) {
	const marker = "...[truncated]"
	f.Fuzz(func(t *testing.T, s string, limit int) {
		out := wire.HeaderValue(s, limit)
		if i := strings.IndexFunc(out, func(r rune) bool { return r < ' ' || r > '~' }); i >= 0 {
			t.Fatalf("HeaderValue(%q, %d) = %q holds %q, which is not printable ASCII", s, limit, out, out[i])
		}
		full := wire.HeaderValue(s, math.MaxInt)
		if got := wire.UnescapeHeaderValue(full); got != s {
			t.Fatalf("UnescapeHeaderValue(%q) = %q, want %q", full, got, s)
		}
		if len(full) <= limit {
			if out != full {
				t.Fatalf("HeaderValue(%q, %d) = %q, want it uncut: %q", s, limit, out, full)
			}
			return
		}
		if len(out) > max(limit, 0) {
			t.Fatalf("HeaderValue(%q, %d) = %q is %d bytes", s, limit, out, len(out))
		}
		kept := strings.TrimSuffix(out, marker)
		if !strings.HasPrefix(full, kept) {
			t.Fatalf("HeaderValue(%q, %d) = %q does not start the escaped value %q", s, limit, out, full)
		}
		if !strings.HasPrefix(s, wire.UnescapeHeaderValue(kept)) {
			t.Fatalf("HeaderValue(%q, %d) = %q cuts an escape in half", s, limit, out)
		}
		if utf8.ValidString(s) && !utf8.ValidString(wire.UnescapeHeaderValue(kept)) {
			t.Fatalf("HeaderValue(%q, %d) = %q cuts a UTF-8 character in half", s, limit, out)
		}
	})
}

// FuzzMediaType checks MediaType against mime.ParseMediaType, which its
// fast path for plain media types skips: the same media type for a value
// that parses, the value itself for one that does not; and MediaType of
// its own result changes nothing.
func FuzzMediaType(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got := wire.MediaType(s)
		want := s
		if mt, _, err := mime.ParseMediaType(s); s != "" && (err == nil || errors.Is(err, mime.ErrInvalidMediaParameter)) {
			want = mt
		}
		if got != want {
			t.Fatalf("MediaType(%q) = %q, want %q", s, got, want)
		}
		if again := wire.MediaType(got); again != got {
			t.Fatalf("MediaType(%q) = %q, but MediaType(%q) = %q", s, got, got, again)
		}
	})
}

// FuzzQuote checks that Quote keeps at most 128 bytes of a value, and
// all of a shorter one.
func FuzzQuote(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q := wire.Quote(s)
		if len(s) <= 128 && !strings.HasSuffix(q, `"`) {
			t.Fatalf("Quote(%q) = %q cuts a short value", s, q)
		}
		if len(q) > 4*128+len(`""…`) {
			t.Fatalf("Quote of %d bytes is %d bytes long", len(s), len(q))
		}
	})
}
