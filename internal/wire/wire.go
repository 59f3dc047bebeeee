// Package wire maps gobus messages to NATS messages: CloudEvents 1.0 in
// binary content mode as the CloudEvents NATS protocol binding defines it
// (attributes in "ce-" headers, percent-encoded; the protobuf body as the
// payload), and, on receipt, structured content mode in the JSON event
// format too. docs/wire.md is the contract other languages build against;
// keep them in agreement.
package wire

import (
	"bytes"
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

// Header names. CloudEvents attributes, extensions included, are headers
// named "ce-" and the attribute name, as the NATS binding says.
const (
	HeaderSpecVersion = "ce-specversion"
	HeaderID          = "ce-id"
	HeaderType        = "ce-type"
	HeaderSource      = "ce-source"
	HeaderTime        = "ce-time"
	// HeaderDataContentType is the datacontenttype attribute: the media
	// type of the body in binary mode.
	HeaderDataContentType = "ce-datacontenttype"
	// HeaderContentType marks structured mode when it is
	// application/cloudevents+json. In binary mode gobus does not write
	// it, and reads it as the body's media type only when
	// ce-datacontenttype is absent, for hand-made messages.
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

// Media types gobus knows.
const (
	// ContentTypeProtobuf is the content type of a protobuf binary body.
	ContentTypeProtobuf = "application/protobuf"
	// ContentTypeJSON is the content type of a protojson body.
	ContentTypeJSON = "application/json"
	// ContentTypeCloudEventsJSON marks a structured-mode message in the
	// JSON event format.
	ContentTypeCloudEventsJSON = "application/cloudevents+json"
)

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

// ContentTypeSource says where the content type of a received message
// came from.
type ContentTypeSource int

// Where a content type comes from.
const (
	// ContentTypeDefault: none was given; the body is taken as protobuf.
	ContentTypeDefault ContentTypeSource = iota
	// ContentTypeFromAttribute: the ce-datacontenttype header.
	ContentTypeFromAttribute
	// ContentTypeFromHeader: the content-type header, in binary mode
	// without ce-datacontenttype.
	ContentTypeFromHeader
	// ContentTypeFromEvent: the datacontenttype of a structured event.
	ContentTypeFromEvent
	// ContentTypeJSONData: a structured event whose data is a JSON
	// value, without datacontenttype (the JSON event format implies
	// application/json).
	ContentTypeJSONData
	// ContentTypeEventDefault: a structured event with data_base64 or no
	// data, and without datacontenttype; the body is taken as protobuf.
	ContentTypeEventDefault
)

// Envelope is the CloudEvents context of one message and its body.
type Envelope struct {
	ID          string
	Type        string
	Source      string
	Time        time.Time
	ContentType string
	// ContentTypeFrom says where ContentType came from, on receipt, so
	// that an error can say why a body was decoded as it was.
	ContentTypeFrom ContentTypeSource
	CorrelationID   string
	CausationID     string
	Intent          Intent
	ReplyTo         string
	TraceParent     string
	TraceState      string
	// Structured is true for an envelope read from a structured-mode
	// message, whose Data is the event's data.
	Structured bool
	Data       []byte
}

// ContentTypeReason says why the body was decoded as ContentType, for
// error messages: "decoded as " + ContentType + " " + ContentTypeReason().
func (e *Envelope) ContentTypeReason() string {
	switch e.ContentTypeFrom {
	case ContentTypeFromAttribute:
		return "as ce-datacontenttype says"
	case ContentTypeFromHeader:
		return "from the content-type header, as no ce-datacontenttype was given"
	case ContentTypeFromEvent:
		return "as the structured event's datacontenttype says"
	case ContentTypeJSONData:
		return "because the structured event's data is JSON and it has no datacontenttype"
	case ContentTypeEventDefault:
		return "because the structured event has no datacontenttype"
	}
	return "because no ce-datacontenttype was given"
}

// Message returns the NATS message that carries e on subject, in binary
// mode, the CloudEvents attributes percent-encoded.
func (e *Envelope) Message(subject string) *nats.Msg {
	var b headerBuilder
	id := EncodeAttribute(e.ID)
	b.set(HeaderSpecVersion, SpecVersion)
	b.set(HeaderID, id)
	b.set(HeaderMsgID, id)
	b.setAttribute(HeaderType, e.Type)
	b.setAttribute(HeaderSource, e.Source)
	b.set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	b.setAttribute(HeaderDataContentType, e.ContentType)
	if e.CorrelationID != e.ID {
		// A message without one starts its own conversation.
		b.setAttribute(HeaderCorrelationID, e.CorrelationID)
	}
	b.setAttribute(HeaderCausationID, e.CausationID)
	b.setAttribute(HeaderIntent, string(e.Intent))
	b.setAttribute(HeaderReplyTo, e.ReplyTo)
	// W3C trace context, whose own rules keep it printable ASCII.
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

// setAttribute sets a CloudEvents attribute, percent-encoded.
func (b *headerBuilder) setAttribute(key, value string) {
	b.set(key, EncodeAttribute(value))
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

// Parse reads the envelope of a NATS message: a binary-mode message, or a
// structured-mode one (content-type application/cloudevents+json, the JSON
// event format in the body). It fails with ErrMalformed, naming what is
// wrong, when a required CloudEvents attribute is missing or invalid.
//
// Header names are matched regardless of case, as HTTP gateways and some
// clients capitalise them. CloudEvents attribute values are
// percent-decoded (DecodeAttribute).
func Parse(h nats.Header, data []byte) (*Envelope, error) {
	e := new(Envelope)
	if err := ParseInto(e, h, data); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseInto is [Parse] into e, which it overwrites: a receiver that holds
// the envelope in a larger struct saves an allocation per message.
func ParseInto(e *Envelope, h nats.Header, data []byte) error {
	r, known := read(h)
	if known < len(h) && mixedCase(h) {
		// Some names may differ only in case: read a lower-cased copy.
		h = lowerKeys(h)
		r, _ = read(h)
	}
	if isStructured(r.contentType) || isLegacyStructured(r, data) {
		s, err := parseStructured(r, data)
		if err != nil {
			return err
		}
		*e = *s
		return nil
	}
	return parseBinary(e, r, data)
}

// isLegacyStructured reports whether a message without ce-specversion and
// content-type has a JSON event as its body: structured mode as version
// 1.0.2 of the NATS binding had it (no headers at all), and as the
// CloudEvents Go SDK still writes it.
func isLegacyStructured(r headerValues, data []byte) bool {
	if r.specVersion != "" || r.contentType != "" {
		return false
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{' && bytes.Contains(data, []byte(`"specversion"`))
}

// headerValues are the headers Parse reads, as they came.
type headerValues struct {
	specVersion, id, typ, source, time, dataContentType, contentType     string
	correlationID, causationID, intent, replyTo, traceParent, traceState string
}

// read takes the envelope's headers from h by their exact names, as
// h.Get would, in one pass over h rather than a look-up per name, and
// returns how many of h's headers it knew: those with a value, and
// Nats-Msg-Id.
func read(h nats.Header) (headerValues, int) {
	var r headerValues
	known := 0
	for k, vs := range h {
		var to *string
		switch k {
		case HeaderSpecVersion:
			to = &r.specVersion
		case HeaderID:
			to = &r.id
		case HeaderType:
			to = &r.typ
		case HeaderSource:
			to = &r.source
		case HeaderTime:
			to = &r.time
		case HeaderDataContentType:
			to = &r.dataContentType
		case HeaderContentType:
			to = &r.contentType
		case HeaderCorrelationID:
			to = &r.correlationID
		case HeaderCausationID:
			to = &r.causationID
		case HeaderIntent:
			to = &r.intent
		case HeaderReplyTo:
			to = &r.replyTo
		case HeaderTraceParent:
			to = &r.traceParent
		case HeaderTraceState:
			to = &r.traceState
		case HeaderMsgID:
			known++
			continue
		default:
			continue
		}
		if len(vs) > 0 && vs[0] != "" {
			*to = vs[0]
			known++
		}
	}
	return r, known
}

// isStructured reports whether a content-type header marks structured
// mode: the binding says a media type of application/cloudevents does,
// matched regardless of case; every event format's media type starts so.
func isStructured(contentType string) bool {
	return contentType != "" && strings.HasPrefix(strings.ToLower(MediaType(contentType)), "application/cloudevents")
}

// parseBinary reads a binary-mode message's envelope from its headers.
func parseBinary(e *Envelope, r headerValues, data []byte) error {
	var d attributeDecoder
	specVersion := d.decode(HeaderSpecVersion, r.specVersion)
	*e = Envelope{
		ID:            d.decode(HeaderID, r.id),
		Type:          d.decode(HeaderType, r.typ),
		Source:        d.decode(HeaderSource, r.source),
		CorrelationID: d.decode(HeaderCorrelationID, r.correlationID),
		CausationID:   d.decode(HeaderCausationID, r.causationID),
		Intent:        Intent(d.decode(HeaderIntent, r.intent)),
		ReplyTo:       d.decode(HeaderReplyTo, r.replyTo),
		TraceParent:   r.traceParent,
		TraceState:    r.traceState,
		Data:          data,
	}
	e.ContentType, e.ContentTypeFrom = binaryContentType(&d, r)
	sentAt := d.decode(HeaderTime, r.time)
	if d.err != nil {
		return d.err
	}
	if err := checkRequired(specVersion, e, "CloudEvents header ", HeaderSpecVersion, HeaderID, HeaderType, HeaderSource); err != nil {
		return err
	}
	if err := e.setTime(HeaderTime, sentAt); err != nil {
		return err
	}
	e.setDefaults()
	return nil
}

// binaryContentType is the body's media type in binary mode:
// ce-datacontenttype, else the content-type header, else protobuf.
func binaryContentType(d *attributeDecoder, r headerValues) (string, ContentTypeSource) {
	if r.dataContentType != "" {
		return MediaType(d.decode(HeaderDataContentType, r.dataContentType)), ContentTypeFromAttribute
	}
	if r.contentType != "" {
		if !utf8.ValidString(r.contentType) {
			d.fail(fmt.Errorf("%w: %s %s is not valid UTF-8", ErrMalformed, HeaderContentType, Quote(r.contentType)))
		}
		return MediaType(r.contentType), ContentTypeFromHeader
	}
	return ContentTypeProtobuf, ContentTypeDefault
}

// attributeDecoder decodes attribute values, keeping the first error.
type attributeDecoder struct{ err error }

func (d *attributeDecoder) decode(name, v string) string {
	s, ok := DecodeAttribute(v)
	if !ok {
		d.fail(fmt.Errorf("%w: %s %s is not valid UTF-8 once percent-decoded", ErrMalformed, name, Quote(v)))
	}
	return s
}

func (d *attributeDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// checkRequired checks the spec version and the required attributes of e,
// whose names (spec version, id, type, source) are given for the error
// messages, after what, such as "CloudEvents header ".
func checkRequired(specVersion string, e *Envelope, what string, names ...string) error {
	var missing []string
	if specVersion == "" {
		missing = append(missing, names[0])
	} else if specVersion != SpecVersion {
		return fmt.Errorf("%w: %s is %s, gobus reads CloudEvents %s", ErrMalformed, names[0], Quote(specVersion), SpecVersion)
	}
	for i, v := range []string{e.ID, e.Type, e.Source} {
		if v == "" {
			missing = append(missing, names[i+1])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s%s", ErrMalformed, what, strings.Join(missing, ", "))
	}
	return nil
}

// setTime sets e.Time from the attribute name's value t, if any.
func (e *Envelope) setTime(name, t string) error {
	if t == "" {
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return fmt.Errorf("%w: %s %s is not an RFC 3339 time", ErrMalformed, name, Quote(t))
	}
	e.Time = parsed
	return nil
}

// setDefaults fills in the correlation id of a message that has none: its
// own id.
func (e *Envelope) setDefaults() {
	if e.CorrelationID == "" {
		e.CorrelationID = e.ID
	}
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

// HeaderValue makes s safe for a NATS header value, which holds printable
// US-ASCII only: it escapes a backslash, CR and LF as \\, \r and \n (so
// stacks stay readable), and '%' and every other byte outside printable ASCII
// (tabs, other control characters, the UTF-8 bytes of non-ASCII text) as
// %XY, in upper-case hex. Spaces and '"' are kept: failure headers are
// gobus's own, not CloudEvents attributes. It cuts the result to at most
// limit bytes, ending it with "...[truncated]" when there is room for it.
// The cut never splits an escape or a UTF-8 character.
func HeaderValue(s string, limit int) string {
	if n := escapedLen(s); n <= limit {
		if n == len(s) {
			return s
		}
		return escapeText(s)
	}
	marker := truncatedMarker
	if limit < len(marker) {
		marker = ""
	}
	return escapeText(s[:fitting(s, max(limit-len(marker), 0))]) + marker
}

// truncatedMarker ends a header value HeaderValue cut short.
const truncatedMarker = "...[truncated]"

// textEscapeLen is how many bytes HeaderValue writes for byte c.
func textEscapeLen(c byte) int {
	switch {
	case c == '\\' || c == '\r' || c == '\n':
		return 2
	case c < ' ' || c >= 0x7f || c == '%':
		return 3
	}
	return 1
}

func escapedLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n += textEscapeLen(s[i])
	}
	return n
}

// fitting returns the length of the longest prefix of s that ends between
// two UTF-8 characters (or invalid bytes) and whose escaped form takes at
// most budget bytes.
func fitting(s string, budget int) int {
	used, i := 0, 0
	for i < len(s) {
		_, size := utf8.DecodeRuneInString(s[i:])
		n := escapedLen(s[i : i+size])
		if used+n > budget {
			break
		}
		used += n
		i += size
	}
	return i
}

func escapeText(s string) string {
	var b strings.Builder
	b.Grow(escapedLen(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case textEscapeLen(c) == 3:
			writePercent(&b, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UnescapeHeaderValue reverses HeaderValue's escaping. A '%' or '\\' that
// starts no escape is kept, as in copies written before gobus
// percent-encoded failure headers.
func UnescapeHeaderValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c, ok := percentByte(s, i); ok {
			b.WriteByte(c)
			i += 2
			continue
		}
		if s[i] == '\\' && i+1 < len(s) {
			if c, ok := backslashEscapes[s[i+1]]; ok {
				b.WriteByte(c)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var backslashEscapes = map[byte]byte{'n': '\n', 'r': '\r', '\\': '\\'}
