// Package audit writes and reads the audit stream, "<prefix>_audit": for
// each message an endpoint with auditing on handled successfully, a copy
// of the message's headers (not its body) with the endpoint's name and
// when it started and ended handling it. The conversation view of gobus
// ui reads it with [Conversation].
//
// A record's subject is "<prefix>.audit.<endpoint>.<conversation>", where
// conversation is [topology.ConversationToken] of the message's
// correlation id, so that one conversation's records are found without
// reading the others'.
package audit

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// TimeLayout is the layout of the audit headers' times: RFC 3339 in UTC
// with nine fractional digits always, so that the values sort as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// The headers an audit record adds to the handled message's.
const (
	// HeaderEndpoint is the endpoint that handled the message.
	HeaderEndpoint = "gobus-audit-endpoint"
	// HeaderStarted is when the successful try of the handler started,
	// in [TimeLayout].
	HeaderStarted = "gobus-audit-started"
	// HeaderEnded is when the message was settled: its handler returned
	// and what it sent was stored, in [TimeLayout].
	HeaderEnded = "gobus-audit-ended"
)

// Message is the audit record of a message handled by endpoint: its
// headers h without NATS's own (Nats-*, server instructions of the
// original publish), its CloudEvents attributes from env (so that a
// structured-mode message has them as headers too), the audit headers,
// and a de-duplication id of the endpoint and message id, so that an
// endpoint records a message once however often it is redelivered within
// the duplicate window.
func Message(names topology.Names, endpoint string, h nats.Header, env *wire.Envelope, started, ended time.Time) *nats.Msg {
	out := make(nats.Header, len(h)+4)
	for k, vs := range h {
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		out[k] = vs
	}
	if env.Structured {
		// A record has no body: its attributes become headers, and
		// nothing marks it structured.
		delete(out, wire.HeaderContentType)
		setAttributes(out, env)
	}
	out[HeaderEndpoint] = []string{endpoint}
	out[HeaderStarted] = []string{started.UTC().Format(TimeLayout)}
	out[HeaderEnded] = []string{ended.UTC().Format(TimeLayout)}
	out[wire.HeaderMsgID] = []string{endpoint + ":" + env.ID}
	subject := names.AuditSubject(endpoint, topology.ConversationToken(conversationOf(env)))
	return &nats.Msg{Subject: subject, Header: out}
}

// setAttributes writes the attributes of a structured-mode message as
// binary-mode headers.
func setAttributes(h nats.Header, env *wire.Envelope) {
	for _, a := range []struct{ name, value string }{
		{wire.HeaderID, env.ID}, {wire.HeaderType, env.Type}, {wire.HeaderSource, env.Source},
		{wire.HeaderCorrelationID, env.CorrelationID}, {wire.HeaderCausationID, env.CausationID},
	} {
		if a.value != "" {
			h[a.name] = []string{wire.EncodeAttribute(a.value)}
		}
	}
	if !env.Time.IsZero() {
		h[wire.HeaderTime] = []string{env.Time.UTC().Format(time.RFC3339Nano)}
	}
}

// conversationOf is the message's conversation id: its correlation id,
// or its own id when it has none, as for the first message of a
// conversation (docs/wire.md: absent means the message's own ce-id).
func conversationOf(env *wire.Envelope) string {
	if env.CorrelationID != "" {
		return env.CorrelationID
	}
	return env.ID
}
