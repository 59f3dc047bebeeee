package gobus

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/pump"
	"github.com/gobusdev/gobus/internal/wire"
)

// crashAllowance is how many deliveries beyond its retry policy a message
// may get when deliveries end without an outcome (a crash, an ack timeout,
// a stop) and no delivery record says which of them it was to blame for.
// Past it, the message moves to the error stream untried, so that a
// message that kills its process cannot do so forever.
const crashAllowance = 3

// delivery is one delivered message on its way through the endpoint.
type delivery struct {
	msg    jetstream.Msg
	meta   *jetstream.MsgMetadata // nil until metadata reads it
	mc     *MessageContext
	reg    *registration
	policy RetryPolicy
	n      int // delivery count, 1 the first time

	gate     *gate // the gate d passed, nil until admitted
	alone    bool  // d passed the gate alone, as a suspect
	released atomic.Bool

	claim string // the claims bucket object of a command's body, if any

	// The message context, its envelope and the first try share the
	// delivery's allocation: one per message rather than four.
	context  MessageContext
	envelope wire.Envelope
	first    handlerTry
}

// metadata is the message's JetStream metadata, read on the slow paths
// only (records, the error stream): the hot path needs the delivery count
// alone, which deliveryCount reads from the ack subject.
func (d *delivery) metadata() *jetstream.MsgMetadata {
	if d.meta == nil {
		meta, err := d.msg.Metadata()
		if err != nil {
			// process checked the ack subject as Metadata does.
			meta = &jetstream.MsgMetadata{NumDelivered: uint64(d.n)}
		}
		d.meta = meta
	}
	return d.meta
}

// process handles one delivered message under the endpoint's retry policy:
// decode, call the handler (retrying at once on failure), dispatch what it
// sent, then ack. A failure leaves the message for a delayed delivery, or
// moves it to the error stream once its retries are spent. Every step runs
// under one recover: no message can take the process down.
func (ep *Endpoint) process(ctx context.Context, msg jetstream.Msg, w pump.Watch) {
	defer func() {
		if r := recover(); r != nil {
			ep.rescue(ctx, msg, r)
		}
	}()
	n, ok := deliveryCount(msg.Reply())
	if !ok {
		_, err := msg.Metadata()
		// Not a JetStream message; nothing to ack or retry.
		ep.log.Error("gobus: received a message without JetStream metadata", "subject", msg.Subject(), "error", err)
		return
	}
	d := &delivery{msg: msg, n: n}
	if err := ep.prepare(d); err != nil {
		ep.moveToErrors(ctx, msg, d.metadata(), err, 1)
		return
	}
	d.policy = ep.policyFor(d.reg.route)
	d.mc.policy, d.mc.stopping, d.mc.reg = d.policy, ctx, d.reg
	if !ep.admit(ctx, d) {
		return
	}
	defer d.release()
	ep.tryAll(ctx, d, w)
}

// tryAll decodes d and runs the handling chain on it, retrying at once as
// the policy allows, and settles the message.
func (ep *Endpoint) tryAll(ctx context.Context, d *delivery, w pump.Watch) {
	defer d.mc.settle()
	b := bodyOf(d.mc)
	if len(b.data) == 0 && !ep.claimed(ctx, d, &b) {
		return // settled: a reference that cannot be followed, or a fetch that failed
	}
	msg, err := d.reg.decode(b)
	if err != nil {
		ep.moveToErrors(ctx, d.msg, d.metadata(), err, d.mc.attempt)
		return
	}
	for try := 0; ; try++ {
		d.mc.attempt = d.policy.attempt(d.n, try)
		err, abandoned := ep.attempt(ctx, d, w, msg, try)
		if abandoned {
			return // the watch gave up on the handler and settled the message
		}
		step := d.mc.NextStep(err)
		if step != StepAck {
			d.mc.discard()
		}
		switch step {
		case StepAck:
			if err := ep.ack(ctx, d); err != nil {
				ep.log.Warn("gobus: acknowledging a handled message failed; it will be delivered again", d.logAttrs("error", errorText(err))...)
			}
		case StepRetryNow:
			ep.log.Debug("gobus: handler failed; retrying at once", d.logAttrs("error", errorText(err))...)
			continue
		case StepHandBack:
			// Stopping: the message goes back as it came, for another
			// instance or the next start.
			ep.handBack(d.msg)
		case StepErrorStream:
			ep.moveToErrors(ctx, d.msg, d.metadata(), err, d.mc.attempt)
		default:
			ep.retryLater(ctx, d, err)
		}
		return
	}
}

// retryLater leaves a failed message for a delayed delivery, or moves it
// to the error stream once the policy's delayed deliveries are spent.
func (ep *Endpoint) retryLater(ctx context.Context, d *delivery, err error) {
	if d.n > d.policy.Delayed {
		ep.moveToErrors(ctx, d.msg, d.metadata(), err, d.mc.attempt)
		return
	}
	delay := d.policy.delay(d.n)
	ep.log.Warn("gobus: handler failed; the message will be delivered again after a delay", d.logAttrs("retry_in", delay, "error", errorText(err))...)
	ep.records.outcome(ctx, d.metadata(), outcomeRetry)
	if err := d.msg.NakWithDelay(delay); err != nil {
		ep.log.Warn("gobus: asking for a delayed delivery failed; the server redelivers after the ack wait", d.logAttrs("error", err)...)
	}
}

// attempt runs the handling chain once: the handler and, if it succeeds,
// the dispatch of what it sent. abandoned reports that the handler ran
// past its max handling time and the watch settled the message instead:
// its outcome is dropped.
func (ep *Endpoint) attempt(ctx context.Context, d *delivery, w pump.Watch, msg proto.Message, try int) (err error, abandoned bool) {
	t := ep.newTry(ctx, d, try)
	w.Until(t.deadline, t)
	err = ep.call(t.ctx, d.mc, msg)
	if !t.returned() {
		ep.log.Warn("gobus: a handler returned after its max handling time; its outcome is dropped, the message was already settled", d.logAttrs("error", errorText(err))...)
		d.mc.discard()
		return nil, true
	}
	w.Until(timeZero, nil)
	err = t.outcome(err)
	t.cancel(nil)
	return err, false
}

// logAttrs are the attributes of every log line about d, then more: with
// the endpoint's logger's "endpoint", its type, id, attempt, delivery and
// trace id.
func (d *delivery) logAttrs(more ...any) []any {
	attrs := make([]any, 0, 10+len(more))
	attrs = append(attrs, "type", d.mc.Type(), "id", d.mc.ID(), "attempt", d.mc.attempt, "delivery", d.n)
	return append(withTraceID(attrs, d.mc.env.TraceParent), more...)
}

// policyFor is the retry policy of a message type: the endpoint's policy
// for the type, else the endpoint's policy.
func (ep *Endpoint) policyFor(r Route) RetryPolicy {
	if p, ok := ep.cfg.retryFor[r.Type]; ok {
		return p
	}
	return ep.cfg.retry
}

// prepare reads d's envelope and finds its handler, setting d.mc and
// d.reg. The subject is checked before the handler lookup, so a message on
// a subject its type does not belong on is refused alike by every
// endpoint.
func (ep *Endpoint) prepare(d *delivery) error {
	msg, env := d.msg, &d.envelope
	if err := wire.ParseInto(env, msg.Headers(), msg.Data()); err != nil {
		return err
	}
	if err := ep.checkSubject(env.Type, msg.Subject()); err != nil {
		return err
	}
	reg, ok := ep.handlers[env.Type]
	if !ok {
		return fmt.Errorf("%w: endpoint %s has no handler for message type %s", ErrNoRoute, ep.name, wire.Quote(env.Type))
	}
	d.context = MessageContext{
		ep:       ep,
		env:      env,
		headers:  msg.Headers(),
		subject:  msg.Subject(),
		attempt:  d.n,
		delivery: d.n,
	}
	d.mc, d.reg = &d.context, reg
	return nil
}
