package gobus

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/wire"
)

// process handles one delivered message: decode, call the handler,
// dispatch what it sent, then ack. Anything short of that leaves the
// message to be delivered again.
func (ep *Endpoint) process(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message; nothing to ack or retry.
		ep.log.Error("gobus: received a message without JetStream metadata", "subject", msg.Subject(), "error", err)
		return
	}
	mc, reg, err := ep.prepare(msg, meta)
	if err == nil {
		err = ep.call(ctx, reg, mc, msg)
	}
	if err == nil {
		err = mc.flush(ctx)
	}
	if err != nil {
		ep.retryLater(msg, meta, err)
		return
	}
	if err := msg.Ack(); err != nil {
		ep.log.Warn("gobus: acknowledging a handled message failed; it will be delivered again", "subject", msg.Subject(), "error", err)
	}
}

// prepare reads the envelope and finds the handler.
func (ep *Endpoint) prepare(msg jetstream.Msg, meta *jetstream.MsgMetadata) (*MessageContext, *registration, error) {
	env, err := wire.Parse(msg.Headers(), msg.Data())
	if err != nil {
		return nil, nil, err
	}
	reg, ok := ep.handlers[env.Type]
	if !ok {
		return nil, nil, fmt.Errorf("%w: endpoint %s has no handler for message type %q", ErrNoRoute, ep.name, env.Type)
	}
	mc := &MessageContext{
		ep:      ep,
		env:     env,
		headers: msg.Headers(),
		subject: msg.Subject(),
		attempt: int(meta.NumDelivered),
	}
	return mc, reg, nil
}

// call runs the handler, turning a panic into an error with its stack.
func (ep *Endpoint) call(ctx context.Context, reg *registration, mc *MessageContext, msg jetstream.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: string(debug.Stack())}
		}
	}()
	return reg.handle(ctx, mc, msg.Data(), mc.env.ContentType)
}

// retryLater logs a failure and has the message delivered again after a
// delay that doubles with each attempt.
func (ep *Endpoint) retryLater(msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error) {
	delay := ep.retryDelay(int(meta.NumDelivered))
	ep.log.Warn("gobus: handling failed; the message will be delivered again",
		"subject", msg.Subject(), "type", msg.Headers().Get(wire.HeaderType), "id", msg.Headers().Get(wire.HeaderID),
		"attempt", meta.NumDelivered, "retry_in", delay, "error", cause)
	if err := msg.NakWithDelay(delay); err != nil {
		ep.log.Warn("gobus: asking for redelivery failed; the server redelivers after the ack wait", "error", err)
	}
}

func (ep *Endpoint) retryDelay(attempt int) time.Duration {
	d := ep.cfg.retryDelay
	for i := 1; i < attempt && d < ep.cfg.maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, ep.cfg.maxRetryDelay)
}

// PanicError is a panic in a handler, caught and treated as a failure.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }
