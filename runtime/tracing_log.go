package gobus

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/wire"
)

// traceIDOf is the trace id of a W3C traceparent header value
// ("00-<trace id>-<parent id>-<flags>"), or "" if it holds none.
func traceIDOf(traceparent string) string {
	if len(traceparent) < 55 || traceparent[2] != '-' || traceparent[35] != '-' {
		return ""
	}
	id := traceparent[3:35]
	if id == "00000000000000000000000000000000" {
		return ""
	}
	return id
}

// withTraceID appends to attrs the trace_id of a message whose
// traceparent header is traceparent, if it has one: the trace its sender
// recorded, which gobus's process spans continue.
func withTraceID(attrs []any, traceparent string) []any {
	if id := traceIDOf(traceparent); id != "" {
		return append(attrs, "trace_id", id)
	}
	return attrs
}

// messageLogAttrs are the attributes of a log line about msg outside its
// handling, such as its move to the error stream: its type, id, attempt
// count and trace id, then more. The endpoint's logger adds the endpoint.
func messageLogAttrs(msg jetstream.Msg, attempt int, more ...any) []any {
	h := msg.Headers()
	attrs := make([]any, 0, 10+len(more))
	attrs = append(attrs, "type", h.Get(wire.HeaderType), "id", h.Get(wire.HeaderID), "attempt", attempt)
	attrs = withTraceID(attrs, h.Get(wire.HeaderTraceParent))
	return append(attrs, more...)
}
