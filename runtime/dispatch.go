package gobus

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

	"google.golang.org/protobuf/proto"
)

// Dispatcher takes outgoing messages. A [*Client] stores each one in
// JetStream before Dispatch returns; a [*MessageContext] keeps them and
// dispatches them together after the handler succeeds.
type Dispatcher interface {
	Dispatch(ctx context.Context, out Outgoing) error
}

// Outgoing is a message on its way out, as the generated SendX and
// PublishX functions hand it to a [Dispatcher].
type Outgoing struct {
	// Route says where the message goes.
	Route Route
	// Message is the message itself.
	Message proto.Message
	// MessageID is the ce-id the sender chose with [WithMessageID]; empty
	// lets gobus choose one.
	MessageID string
	// CorrelationID is the correlation id the sender chose with
	// [WithCorrelationID]; empty lets gobus carry on the incoming one.
	CorrelationID string

	// replyTo is where the command asks its reply to go
	// (ce-gobusreplyto): a waiting request's subject, or replyEndpoint's
	// reply subject.
	replyTo       string
	replyEndpoint string
	// to is where a reply goes: the ce-gobusreplyto of the command it
	// answers.
	to string
	// deliverAt, when set, holds the message back until then; scheduled
	// receives its schedule id.
	deliverAt time.Time
	scheduled *string
	// after is the d of After, which set deliverAt.
	after time.Duration
	// headers are NATS headers gobus adds to the message, such as a saga
	// timeout's instance.
	headers nats.Header
}

// SendOption configures one send.
type SendOption interface{ applySend(*Outgoing) }

// PublishOption configures one publish.
type PublishOption interface{ applyPublish(*Outgoing) }

// DispatchOption configures a send or a publish.
type DispatchOption interface {
	SendOption
	PublishOption
}

type dispatchOptionFunc func(*Outgoing)

func (f dispatchOptionFunc) applySend(o *Outgoing)    { f(o) }
func (f dispatchOptionFunc) applyPublish(o *Outgoing) { f(o) }

// WithMessageID sets the message id (ce-id and Nats-Msg-Id). Sending twice
// with the same id within the duplicate window stores the message once, so
// a caller that retries a send after an error should pass the same id.
func WithMessageID(id string) DispatchOption {
	return dispatchOptionFunc(func(o *Outgoing) { o.MessageID = id })
}

// WithCorrelationID sets the correlation id, which every message handled
// because of this one carries on. By default a message sent outside a
// handler starts a new conversation: its correlation id is its own id.
func WithCorrelationID(id string) DispatchOption {
	return dispatchOptionFunc(func(o *Outgoing) { o.CorrelationID = id })
}

// Send sends the command msg along route r through d. The generated SendX
// functions call it; a command route is the only kind it takes, so an
// event cannot be sent.
func Send[M proto.Message](ctx context.Context, d Dispatcher, r *CommandRoute[M], msg M, opts ...SendOption) error {
	out := Outgoing{Route: r.route, Message: msg}
	for _, o := range opts {
		o.applySend(&out)
	}
	out.heldBack()
	return d.Dispatch(ctx, out)
}

// Publish publishes the event msg along route r through d. The generated
// PublishX functions call it; an event route is the only kind it takes, so
// a command cannot be published.
func Publish[M proto.Message](ctx context.Context, d Dispatcher, r *EventRoute[M], msg M, opts ...PublishOption) error {
	out := Outgoing{Route: r.route, Message: msg}
	for _, o := range opts {
		o.applyPublish(&out)
	}
	out.heldBack()
	return d.Dispatch(ctx, out)
}
