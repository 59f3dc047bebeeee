// Package wire maps gobus messages to NATS messages: CloudEvents 1.0 in
// binary content mode, attributes in NATS headers, the protobuf body as the
// payload. docs/wire.md is the contract other languages build against; keep
// them in agreement.
package wire

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
	h := make(nats.Header, 12)
	h.Set(HeaderSpecVersion, SpecVersion)
	h.Set(HeaderID, e.ID)
	h.Set(HeaderMsgID, e.ID)
	h.Set(HeaderType, e.Type)
	h.Set(HeaderSource, e.Source)
	h.Set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderContentType, e.ContentType)
	setIf(h, HeaderCorrelationID, e.CorrelationID)
	setIf(h, HeaderCausationID, e.CausationID)
	setIf(h, HeaderIntent, string(e.Intent))
	setIf(h, HeaderReplyTo, e.ReplyTo)
	setIf(h, HeaderTraceParent, e.TraceParent)
	setIf(h, HeaderTraceState, e.TraceState)
	return &nats.Msg{Subject: subject, Header: h, Data: e.Data}
}

func setIf(h nats.Header, key, value string) {
	if value != "" {
		h.Set(key, value)
	}
}

// Parse reads the envelope of a NATS message. It fails with ErrMalformed,
// naming what is wrong, when a required CloudEvents attribute is missing or
// invalid.
func Parse(h nats.Header, data []byte) (*Envelope, error) {
	e := &Envelope{
		ID:            h.Get(HeaderID),
		Type:          h.Get(HeaderType),
		Source:        h.Get(HeaderSource),
		ContentType:   h.Get(HeaderContentType),
		CorrelationID: h.Get(HeaderCorrelationID),
		CausationID:   h.Get(HeaderCausationID),
		Intent:        Intent(h.Get(HeaderIntent)),
		ReplyTo:       h.Get(HeaderReplyTo),
		TraceParent:   h.Get(HeaderTraceParent),
		TraceState:    h.Get(HeaderTraceState),
		Data:          data,
	}
	var missing []string
	if v := h.Get(HeaderSpecVersion); v == "" {
		missing = append(missing, HeaderSpecVersion)
	} else if v != SpecVersion {
		return nil, fmt.Errorf("%w: %s is %q, gobus reads CloudEvents %s", ErrMalformed, HeaderSpecVersion, v, SpecVersion)
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
			return nil, fmt.Errorf("%w: %s %q is not an RFC 3339 time", ErrMalformed, HeaderTime, t)
		}
		e.Time = parsed
	}
	if e.ContentType == "" {
		e.ContentType = ContentTypeProtobuf
	}
	return e, nil
}
