package gobus

import (
	"context"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// Handler is the handling of one decoded message, the shape [Middleware]
// wraps: it runs the registered handler and, if that succeeds, dispatches
// what it sent. The message is acknowledged if the chain returns nil;
// otherwise the error goes to the retry policy, as a handler's error does
// ([MessageContext.NextStep] tells what will happen).
type Handler func(ctx context.Context, mc *MessageContext, msg proto.Message) error

// Middleware wraps the handling of every message of an endpoint. It may
// look at or change ctx, read mc and msg, time or log the call, turn the
// error into another, or not call next at all (the message is then
// acknowledged if it returns nil). What a handler sends or publishes with
// a context derived from the middleware's ctx carries that ctx to the
// dispatch middleware.
//
// A message that cannot be decoded, or has no handler, never reaches the
// chain: it goes to the error stream at once.
type Middleware func(next Handler) Handler

// DispatchFunc stores one outgoing message, the shape [DispatchMiddleware]
// wraps.
type DispatchFunc func(ctx context.Context, m *OutgoingMessage) error

// DispatchMiddleware wraps every outgoing message: sent or published by a
// client, a [Batch] or a handler. It sees the message encoded, with its
// id, subject and CloudEvents headers, and may add headers of its own
// (m.Msg.Header) before it calls next. From a client's Dispatch, next
// returns once JetStream stored the message; from a Batch and a handler,
// once the message is handed over: whether it was stored is reported by
// [Batch.Wait] and by the handler's outcome.
type DispatchMiddleware func(next DispatchFunc) DispatchFunc

// OutgoingMessage is an outgoing message as dispatch middleware sees it.
type OutgoingMessage struct {
	// Outgoing is the message as the sender gave it.
	Outgoing
	// ID is its ce-id, chosen by the sender or by gobus.
	ID string
	// Msg is the NATS message that carries it. Middleware may add
	// headers; the body and the CloudEvents headers are gobus's.
	Msg *nats.Msg

	client *Client
	sink   sink
}

// MiddlewareOption adds middleware to a client (for all its endpoints and
// its sends) or to one endpoint; it is both an [Option] and an
// [EndpointOption].
type MiddlewareOption interface {
	Option
	EndpointOption
}

type middlewareOption struct {
	handling []Middleware
	dispatch []DispatchMiddleware
}

func (o middlewareOption) applyClient(c *clientConfig) {
	c.middleware = append(c.middleware, o.handling...)
	c.dispatchMiddleware = append(c.dispatchMiddleware, o.dispatch...)
}

func (o middlewareOption) applyEndpoint(c *endpointConfig) {
	c.middleware = append(c.middleware, o.handling...)
	c.dispatchMiddleware = append(c.dispatchMiddleware, o.dispatch...)
}

// WithMiddleware adds handling middleware. Given to [Connect], it wraps
// the handling of every endpoint of the client; given to [NewEndpoint],
// that endpoint's. Middleware runs in the order given, the first
// outermost; the client's runs outside the endpoint's.
func WithMiddleware(mw ...Middleware) MiddlewareOption {
	return middlewareOption{handling: mw}
}

// WithDispatchMiddleware adds dispatch middleware. Given to [Connect], it
// wraps every message the client and its endpoints send or publish; given
// to [NewEndpoint], the messages that endpoint's handlers send. It runs in
// the order given, the first outermost; the client's runs outside the
// endpoint's.
func WithDispatchMiddleware(mw ...DispatchMiddleware) MiddlewareOption {
	return middlewareOption{dispatch: mw}
}

// chain wraps h in mws, the first outermost.
func chain(h Handler, mws ...[]Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		for j := len(mws[i]) - 1; j >= 0; j-- {
			h = mws[i][j](h)
		}
	}
	return h
}

// dispatchChain wraps d in mws, the first outermost.
func dispatchChain(d DispatchFunc, mws ...[]DispatchMiddleware) DispatchFunc {
	for i := len(mws) - 1; i >= 0; i-- {
		for j := len(mws[i]) - 1; j >= 0; j-- {
			d = mws[i][j](d)
		}
	}
	return d
}
