// Package wire maps gobus messages to NATS messages: CloudEvents 1.0 in
// binary content mode, attributes in NATS headers, the protobuf body as the
// payload. docs/wire.md is the contract other languages build against; keep
// them in agreement.
package wire

import (
	"errors"
	"fmt"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// Header names. CloudEvents attributes carry the "ce-" prefix, as in the
// CloudEvents Go SDK's NATS and JetStream bindings; datacontenttype is the
// plain content-type header.
const (
	HeaderSpecVersion   = "ce-specversion"
	HeaderID            = "ce-id"
	HeaderType          = "ce-type"
	HeaderSource        = "ce-source"
	HeaderTime          = "ce-time"
	HeaderContentType   = "content-type"
	HeaderCorrelationID = "ce-correlationid"
	HeaderCausationID   = "ce-causationid"
	HeaderIntent        = "ce-gobusintent"
	HeaderReplyTo       = "ce-gobusreplyto"
	HeaderTraceParent   = "traceparent"
	HeaderTraceState    = "tracestate"
	// HeaderMsgID is JetStream's de-duplication id; gobus sets it to ce-id.
	HeaderMsgID = nats.MsgIdHdr
)

// SpecVersion is the CloudEvents version gobus speaks.
const SpecVersion = "1.0"

// ContentTypeProtobuf is the content type of a protobuf binary body.
const ContentTypeProtobuf = "application/protobuf"

// Intent says why a message was sent.
type Intent string

// The intents gobus writes in ce-gobusintent.
const (
	IntentSend    Intent = "send"
	IntentPublish Intent = "publish"
	IntentReply   Intent = "reply"
)

// ErrMalformed is returned for a message that is not a gobus message.
var ErrMalformed = errors.New("malformed message")

// Envelope is the CloudEvents context of one message and its body.
type Envelope struct {
	ID            string
	Type          string
	Source        string
	Time          time.Time
	ContentType   string
	CorrelationID string
	CausationID   string
	Intent        Intent
	ReplyTo       string
	TraceParent   string
	TraceState    string
	Data          []byte
}

// Message returns the NATS message that carries e on subject.
func (e *Envelope) Message(subject string) *nats.Msg {
	var b headerBuilder
	b.set(HeaderSpecVersion, SpecVersion)
	b.set(HeaderID, e.ID)
	b.set(HeaderMsgID, e.ID)
	b.set(HeaderType, e.Type)
	b.set(HeaderSource, e.Source)
	b.set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	b.set(HeaderContentType, e.ContentType)
	if e.CorrelationID != e.ID {
		// A message without one starts its own conversation.
		b.set(HeaderCorrelationID, e.CorrelationID)
	}
	b.set(HeaderCausationID, e.CausationID)
	b.set(HeaderIntent, string(e.Intent))
	b.set(HeaderReplyTo, e.ReplyTo)
	b.set(HeaderTraceParent, e.TraceParent)
	b.set(HeaderTraceState, e.TraceState)
	return &nats.Msg{Subject: subject, Header: b.header(), Data: e.Data}
}

// maxHeaders is how many headers Message writes at most.
const maxHeaders = 13

// headerBuilder collects non-empty headers and builds the nats.Header in
// two allocations: the map, and one array behind every value slice.
type headerBuilder struct {
	n      int
	keys   [maxHeaders]string
	values [maxHeaders]string
}

func (b *headerBuilder) set(key, value string) {
	if value != "" {
		b.keys[b.n], b.values[b.n] = key, value
		b.n++
	}
}

func (b *headerBuilder) header() nats.Header {
	h := make(nats.Header, b.n)
	values := make([]string, b.n)
	copy(values, b.values[:b.n])
	for i := range b.n {
		h[b.keys[i]] = values[i : i+1 : i+1]
	}
	return h
}

// Parse reads the envelope of a NATS message. It fails with ErrMalformed,
// naming what is wrong, when a required CloudEvents attribute is missing or
// invalid.
//
// Header names are matched regardless of case, as HTTP gateways and some
// clients capitalise them.
func Parse(h nats.Header, data []byte) (*Envelope, error) {
	e, found := read(h, data)
	if _, ok := h[HeaderMsgID]; ok {
		found++
	}
	if found < len(h) && mixedCase(h) {
		// Some names may differ only in case: read a lower-cased copy.
		h = lowerKeys(h)
		e, _ = read(h, data)
	}
	var missing []string
	if v := h.Get(HeaderSpecVersion); v == "" {
		missing = append(missing, HeaderSpecVersion)
	} else if v != SpecVersion {
		return nil, fmt.Errorf("%w: %s is %s, gobus reads CloudEvents %s", ErrMalformed, HeaderSpecVersion, Quote(v), SpecVersion)
	}
	for _, m := range []struct{ name, value string }{{HeaderID, e.ID}, {HeaderType, e.Type}, {HeaderSource, e.Source}} {
		if m.value == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing CloudEvents header %s", ErrMalformed, strings.Join(missing, ", "))
	}
	if t := h.Get(HeaderTime); t != "" {
		parsed, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %s is not an RFC 3339 time", ErrMalformed, HeaderTime, Quote(t))
		}
		e.Time = parsed
	}
	if e.ContentType == "" {
		e.ContentType = ContentTypeProtobuf
	}
	if e.CorrelationID == "" {
		e.CorrelationID = e.ID
	}
	return e, nil
}

// read looks the envelope's headers up by their exact names and returns
// how many of them it found, spec version and time included.
func read(h nats.Header, data []byte) (*Envelope, int) {
	e := &Envelope{
		ID:            h.Get(HeaderID),
		Type:          h.Get(HeaderType),
		Source:        h.Get(HeaderSource),
		ContentType:   MediaType(h.Get(HeaderContentType)),
		CorrelationID: h.Get(HeaderCorrelationID),
		CausationID:   h.Get(HeaderCausationID),
		Intent:        Intent(h.Get(HeaderIntent)),
		ReplyTo:       h.Get(HeaderReplyTo),
		TraceParent:   h.Get(HeaderTraceParent),
		TraceState:    h.Get(HeaderTraceState),
		Data:          data,
	}
	found := 0
	for _, v := range []string{e.ID, e.Type, e.Source, e.ContentType, e.CorrelationID, e.CausationID,
		string(e.Intent), e.ReplyTo, e.TraceParent, e.TraceState, h.Get(HeaderSpecVersion), h.Get(HeaderTime)} {
		if v != "" {
			found++
		}
	}
	return e, found
}

// mixedCase reports whether a header name other than Nats-* has upper
// case letters.
func mixedCase(h nats.Header) bool {
	for k := range h {
		if hasUpper(k) && !strings.HasPrefix(k, "Nats-") {
			return true
		}
	}
	return false
}

// lowerKeys returns a copy of h with lower-case keys, so that the lookups
// in Parse find names written in any case. When one name is written in
// several cases, the values of the lower-case spelling come first, then
// the others' in the sorted order of their spellings: which value Parse
// reads must not depend on the order of a map.
func lowerKeys(h nats.Header) nats.Header {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if al, bl := !hasUpper(a), !hasUpper(b); al != bl {
			if al {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	lower := make(nats.Header, len(h))
	for _, k := range keys {
		lk := strings.ToLower(k)
		lower[lk] = append(lower[lk], h[k]...)
	}
	return lower
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// maxQuoted is how much of a header value Quote keeps.
const maxQuoted = 128

// Quote quotes a header value for an error message, Go-style, keeping at
// most 128 bytes of it and marking the cut with "…" after the closing
// quote: a header value can be 64 KiB long, and an error message that
// quotes it whole hides what it says after it.
func Quote(v string) string {
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	cut := maxQuoted
	for back := 0; back < utf8.UTFMax-1 && !utf8.RuneStart(v[cut]); back++ {
		cut--
	}
	return strconv.Quote(v[:cut]) + "…"
}

// Get returns the first value of header name, matching the name exactly
// or, failing that, regardless of case (of several such spellings, the
// first in sorted order).
func Get(h nats.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	var key string
	for k, vs := range h {
		if len(vs) > 0 && vs[0] != "" && strings.EqualFold(k, name) && (key == "" || k < key) {
			key = k
		}
	}
	if key == "" {
		return ""
	}
	return h[key][0]
}

// MediaType returns the media type of a content-type value in lower case,
// without parameters such as charset, which gobus ignores even when they
// are malformed; a value whose media type does not parse is returned as it
// is, for the error message.
func MediaType(contentType string) string {
	if contentType == "" || isPlainMediaType(contentType) {
		return contentType
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return contentType
	}
	return mt
}

// isPlainMediaType reports whether s is already a lower-case media type
// without parameters, which needs no parsing: printable ASCII without
// upper case letters or ';'. Spaces and control characters, which
// mime.ParseMediaType trims, and non-ASCII letters, some of which lower
// to ASCII ones, take the slow path.
func isPlainMediaType(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ';' || c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Failure headers, added to the copy of a message in the error stream
// next to all of its original headers.
const (
	HeaderFailedEndpoint = "gobus-failed-endpoint"
	HeaderFailedSubject  = "gobus-failed-subject"
	HeaderFailedStream   = "gobus-failed-stream"
	HeaderFailedSequence = "gobus-failed-sequence"
	HeaderFailedAt       = "gobus-failed-at"
	HeaderAttempts       = "gobus-attempts"
	HeaderErrorKind      = "gobus-error-kind"
	HeaderErrorType      = "gobus-error-type"
	HeaderErrorMessage   = "gobus-error-message"
	HeaderErrorStack     = "gobus-error-stack"
)

// FailureHeaders lists the failure headers, so that a retry can strip them.
var FailureHeaders = []string{
	HeaderFailedEndpoint, HeaderFailedSubject, HeaderFailedStream, HeaderFailedSequence,
	HeaderFailedAt, HeaderAttempts, HeaderErrorKind, HeaderErrorType, HeaderErrorMessage, HeaderErrorStack,
}

// HeaderValue makes s safe for a NATS header value, which cannot hold line
// breaks: it escapes '\\', '\r' and '\n' as \\, \r and \n, and cuts the
// result to at most limit bytes, ending it with "…[truncated]" when there
// is room for it. The cut never splits an escape or a UTF-8 character.
func HeaderValue(s string, limit int) string {
	s = headerEscaper.Replace(s)
	if len(s) <= limit {
		return s
	}
	marker := truncatedMarker
	if limit < len(marker) {
		marker = ""
	}
	cut := max(limit-len(marker), 0)
	// Back off to the start of a UTF-8 character (invalid input has no
	// such start within reach: cut anywhere).
	for back := 0; back < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); back++ {
		cut--
	}
	// An odd run of backslashes before the cut ends with the first half
	// of an escape.
	run := 0
	for i := cut - 1; i >= 0 && s[i] == '\\'; i-- {
		run++
	}
	if run%2 == 1 {
		cut--
	}
	return s[:cut] + marker
}

// truncatedMarker ends a header value HeaderValue cut short.
const truncatedMarker = "…[truncated]"

var headerEscaper = strings.NewReplacer(`\`, `\\`, "\r", `\r`, "\n", `\n`)

// UnescapeHeaderValue reverses HeaderValue's escaping.
func UnescapeHeaderValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
