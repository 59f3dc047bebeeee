package gobus

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

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
// them. The generated RegisterXHandler functions call it.
func HandleEvent[M proto.Message](ep *Endpoint, r *EventRoute[M], h HandlerFunc[M]) error {
	return ep.register(newRegistration(r.route, h))
}

func newRegistration[M proto.Message](r Route, h HandlerFunc[M]) *registration {
	var zero M
	// Registration runs after the generated packages' init functions, so
	// the message's descriptor is ready.
	mt := zero.ProtoReflect().Type()
	return &registration{
		route: r,
		handle: func(ctx context.Context, mc *MessageContext, data []byte, contentType string) error {
			msg := mt.New().Interface().(M)
			if err := decode(data, contentType, msg); err != nil {
				return &decodeError{typ: r.Type, err: err}
			}
			return h(ctx, mc, msg)
		},
	}
}

// decode reads data, encoded as contentType, into msg.
func decode(data []byte, contentType string, msg proto.Message) error {
	switch contentType {
	case wire.ContentTypeProtobuf, "application/x-protobuf":
		return proto.Unmarshal(data, msg)
	case "application/json":
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, msg)
	}
	return fmt.Errorf("unsupported content-type %s: use %s or application/json", wire.Quote(contentType), wire.ContentTypeProtobuf)
}

// decodeError is a body that does not decode as its declared type.
type decodeError struct {
	typ string
	err error
}

func (e *decodeError) Error() string {
	return fmt.Sprintf("the body is not a valid %s: %v", e.typ, e.err)
}

func (e *decodeError) Unwrap() error { return e.err }
