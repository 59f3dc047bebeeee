package gobus

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/wire"
)

// crashAllowance is how many deliveries beyond its retry policy a message
// may get when deliveries end without an outcome (a crash, an ack timeout,
// a stop). Past it, the message moves to the error stream untried, so that
// a message that kills its process cannot do so forever.
const crashAllowance = 3

// process handles one delivered message under the endpoint's retry policy:
// decode, call the handler (retrying at once on failure), dispatch what it
// sent, then ack. A failure leaves the message for a delayed delivery, or
// moves it to the error stream once its retries are spent.
func (ep *Endpoint) process(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message; nothing to ack or retry.
		ep.log.Error("gobus: received a message without JetStream metadata", "subject", msg.Subject(), "error", err)
		return
	}
	delivery := int(meta.NumDelivered)
	mc, reg, err := ep.prepare(msg, meta)
	if err != nil {
		ep.moveToErrors(ctx, msg, meta, err, 1)
		return
	}
	policy := ep.policyFor(reg.route)
	if delivery > 1+policy.Delayed+crashAllowance {
		ep.moveToErrors(ctx, msg, meta, &exhaustedError{deliveries: delivery}, policy.MaxAttempts())
		return
	}
	for try := 0; ; try++ {
		mc.attempt = policy.attempt(delivery, try)
		err = ep.call(ctx, reg, mc, msg)
		if err == nil {
			err = mc.flush(ctx)
		}
		if err == nil {
			if err := msg.Ack(); err != nil {
				ep.log.Warn("gobus: acknowledging a handled message failed; it will be delivered again", "subject", msg.Subject(), "error", err)
			}
			return
		}
		mc.discard()
		switch {
		case ctx.Err() != nil:
			// Stopping: the message goes back as it came, for another
			// instance or the next start.
			_ = msg.Nak()
			return
		case isUnrecoverable(err):
			ep.moveToErrors(ctx, msg, meta, err, mc.attempt)
			return
		case delivery == 1 && try < policy.Immediate:
			ep.log.Debug("gobus: handler failed; retrying at once", "type", mc.Type(), "id", mc.ID(), "attempt", mc.attempt, "error", err)
			continue
		}
		break
	}
	if delivery <= policy.Delayed {
		delay := policy.delay(delivery)
		ep.log.Warn("gobus: handler failed; the message will be delivered again after a delay",
			"type", mc.Type(), "id", mc.ID(), "attempt", mc.attempt, "retry_in", delay, "error", err)
		if err := msg.NakWithDelay(delay); err != nil {
			ep.log.Warn("gobus: asking for a delayed delivery failed; the server redelivers after the ack wait", "error", err)
		}
		return
	}
	ep.moveToErrors(ctx, msg, meta, err, mc.attempt)
}

// policyFor is the retry policy of a message type: the endpoint's policy
// for the type, else the endpoint's policy.
func (ep *Endpoint) policyFor(r Route) RetryPolicy {
	if p, ok := ep.cfg.retryFor[r.Type]; ok {
		return p
	}
	return ep.cfg.retry
}

// prepare reads the envelope and finds the handler.
func (ep *Endpoint) prepare(msg jetstream.Msg, meta *jetstream.MsgMetadata) (*MessageContext, *registration, error) {
	env, err := wire.Parse(msg.Headers(), msg.Data())
	if err != nil {
		return nil, nil, err
	}
	reg, ok := ep.handlers[env.Type]
	if !ok {
		return nil, nil, fmt.Errorf("%w: endpoint %s has no handler for message type %s", ErrNoRoute, ep.name, wire.Quote(env.Type))
	}
	if err := ep.checkSubject(reg, msg.Subject()); err != nil {
		return nil, nil, err
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

// checkSubject refuses a message whose ce-type does not belong on the
// subject it arrived on: a command of another endpoint, an event on a
// command's subject, one type dressed as another. Operators' retries
// arrive on the endpoint's retry subject and may carry any type.
func (ep *Endpoint) checkSubject(reg *registration, subject string) error {
	if subject == reg.subject || subject == ep.retrySubject {
		return nil
	}
	return fmt.Errorf("%w: the %s %s arrived on subject %s, but its subject is %s", errWrongSubject, reg.route.Kind, reg.route.Type, subject, reg.subject)
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

// PanicError is a panic in a handler, caught and treated as a failure.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// exhaustedError is a message delivered more often than its policy allows
// without an outcome.
type exhaustedError struct{ deliveries int }

func (e *exhaustedError) Error() string {
	return fmt.Sprintf("delivered %d times without an outcome: the process handling it may be crashing or timing out", e.deliveries)
}
