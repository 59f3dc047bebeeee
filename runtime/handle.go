package gobus

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gobusdev/gobus/internal/wire"
)

// HandlerFunc handles one message of type M. mc tells where the message
// came from and takes what the handler sends or publishes; it is
// dispatched only if the handler returns nil.
type HandlerFunc[M proto.Message] func(ctx context.Context, mc *MessageContext, msg M) error

// HandleCommand has ep handle commands on route r with h. The generated
// RegisterXHandler functions call it. ep must be the endpoint the command
// is routed to.
func HandleCommand[M proto.Message](ep *Endpoint, r *CommandRoute[M], h HandlerFunc[M]) error {
	return ep.register(newRegistration(r.route, h))
}

// HandleEvent has ep handle events on route r with h, subscribing ep to
// them: to every one, or with filters to those that match one of them
// (the server filters; see [Filter]). The generated RegisterXHandler
// functions call it.
func HandleEvent[M proto.Message](ep *Endpoint, r *EventRoute[M], h HandlerFunc[M], filters ...Filter) error {
	reg := newRegistration(r.route, h)
	subjects, err := ep.eventSubjects(r.route, filters)
	if err != nil {
		return err
	}
	reg.filterSubjects = subjects
	return ep.register(reg)
}

func newRegistration[M proto.Message](r Route, h HandlerFunc[M]) *registration {
	var zero M
	// Registration runs after the generated packages' init functions, so
	// the message's descriptor is ready.
	mt := zero.ProtoReflect().Type()
	return &registration{
		route:  r,
		decode: decoderFor(mt, r.Type),
		call: func(ctx context.Context, mc *MessageContext, msg proto.Message) error {
			m, ok := msg.(M)
			if !ok {
				return Unrecoverable(fmt.Errorf("gobus: middleware handed the %s handler a %s", r.Type, msg.ProtoReflect().Descriptor().FullName()))
			}
			return h(ctx, mc, m)
		},
	}
}

// decoderFor decodes bodies of type typ as mt.
func decoderFor(mt protoreflect.MessageType, typ string) func(body) (proto.Message, error) {
	return func(b body) (proto.Message, error) {
		msg := mt.New().Interface()
		if err := decode(b.data, b.contentType, msg); err != nil {
			return nil, &decodeError{typ: typ, contentType: b.contentType, reason: b.reason, err: err}
		}
		return msg, nil
	}
}

// body is what a handler decodes: the body, its content type, and why
// that content type was assumed ("" when unknown).
type body struct {
	data        []byte
	contentType string
	reason      string
}

// bodyOf returns the body of the message mc handles. Its envelope holds
// the body (in structured mode, the event's data rather than the NATS
// payload) and where its content type came from.
func bodyOf(mc *MessageContext) body {
	return body{data: mc.env.Data, contentType: mc.env.ContentType, reason: mc.env.ContentTypeReason()}
}

// decode reads data, encoded as contentType, into msg.
func decode(data []byte, contentType string, msg proto.Message) error {
	switch contentType {
	case wire.ContentTypeProtobuf, "application/x-protobuf":
		return proto.Unmarshal(data, msg)
	case wire.ContentTypeJSON:
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, msg)
	}
	return &unsupportedError{contentType: contentType}
}

// unsupportedError is a content type gobus does not decode.
type unsupportedError struct{ contentType string }

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("unsupported content-type %s", wire.Quote(e.contentType))
}

// decodeError is a body that does not decode as its declared type.
type decodeError struct {
	typ string
	// contentType is the media type the body was decoded as, and reason
	// why it was assumed, such as "because no ce-datacontenttype was
	// given" ("" when unknown).
	contentType, reason string
	err                 error
}

// Error says what did not decode, as what and why, for example "the body
// is not a valid shop.v1.X, decoded as application/protobuf because no
// ce-datacontenttype was given: proto: cannot parse invalid wire-format
// data".
func (e *decodeError) Error() string {
	var u *unsupportedError
	switch {
	case errors.As(e.err, &u) && e.reason != "":
		return fmt.Sprintf("the body is not a valid %s: %v (%s): use %s or %s", e.typ, e.err, e.reason, wire.ContentTypeProtobuf, wire.ContentTypeJSON)
	case errors.As(e.err, &u):
		return fmt.Sprintf("the body is not a valid %s: %v: use %s or %s", e.typ, e.err, wire.ContentTypeProtobuf, wire.ContentTypeJSON)
	case e.reason != "":
		return fmt.Sprintf("the body is not a valid %s, decoded as %s %s: %v", e.typ, e.contentType, e.reason, e.err)
	}
	return fmt.Sprintf("the body is not a valid %s: %v", e.typ, e.err)
}

func (e *decodeError) Unwrap() error { return e.err }
