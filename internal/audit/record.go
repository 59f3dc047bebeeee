package audit

import (
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/wire"
)

// Record is one audit record: one message handled by one endpoint.
type Record struct {
	// Endpoint is the endpoint that handled the message.
	Endpoint string
	// ID, Type, Source, CorrelationID and CausationID are the message's
	// CloudEvents attributes: its id, proto full name, the endpoint that
	// sent it, its conversation and the id of the message whose handler
	// sent it ("" for the first of a conversation).
	ID, Type, Source, CorrelationID, CausationID string
	// Time is when the message was sent, Started when the endpoint's
	// successful try of its handler started, Ended when the endpoint had
	// stored what the handler sent.
	Time, Started, Ended time.Time
	// Headers are all the record's headers.
	Headers nats.Header
	// Sequence is the record's sequence in the audit stream.
	Sequence uint64
}

// FromHeaders reads a record from the headers of an audit message.
// A message without a correlation id is the first of its conversation,
// whose id is its own.
func FromHeaders(h nats.Header) Record {
	r := Record{
		Endpoint:      wire.Get(h, HeaderEndpoint),
		ID:            attribute(h, wire.HeaderID),
		Type:          attribute(h, wire.HeaderType),
		Source:        attribute(h, wire.HeaderSource),
		CorrelationID: attribute(h, wire.HeaderCorrelationID),
		CausationID:   attribute(h, wire.HeaderCausationID),
		Time:          timeOf(attribute(h, wire.HeaderTime)),
		Started:       timeOf(wire.Get(h, HeaderStarted)),
		Ended:         timeOf(wire.Get(h, HeaderEnded)),
		Headers:       h,
	}
	if r.CorrelationID == "" {
		r.CorrelationID = r.ID
	}
	return r
}

func attribute(h nats.Header, name string) string {
	v, _ := wire.DecodeAttribute(wire.Get(h, name))
	return v
}

// timeOf parses an RFC 3339 time, the zero time when it does not parse.
func timeOf(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
