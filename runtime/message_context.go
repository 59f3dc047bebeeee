package gobus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/schedule"
	"github.com/gobusdev/gobus/internal/wire"
)

// MessageContext is what a handler knows about the message it handles, and
// the [Dispatcher] through which it sends and publishes. Messages given to
// it are kept until the handler returns nil, then dispatched together,
// before the incoming message is acknowledged. It is safe for concurrent
// use by the handler's goroutines, and valid only while the handler runs:
// once it has returned, what is given to it is refused with
// [ErrHandlerReturned].
type MessageContext struct {
	ep       *Endpoint
	env      *wire.Envelope
	headers  nats.Header
	subject  string
	attempt  int
	delivery int
	policy   RetryPolicy
	stopping context.Context // the endpoint's: done once it stops
	reg      *registration
	mu       sync.Mutex
	outgoing []pendingOutgoing
	// scheduledIDs names the held-back messages, as they are sent.
	scheduledIDs derivedIDs
	// cancels are the schedules to cancel once the handler succeeded.
	cancels []string
	// detached records what the handler gives, for a context made by
	// NewDetachedMessageContext; nil for an endpoint's.
	detached *detachedRecord
	// closed refuses what the handler gives: while its output is being
	// published (sealed), and for good once the message is settled.
	closed closing
}

// closing is how far a message context is from taking more outgoing
// messages.
type closing uint8

const (
	open    closing = iota
	sealed          // the handler returned nil; its output is being sent
	settled         // the message is settled: nothing more goes with it
)

// refusing is the error for what a closed mc is given, nil while it is
// open. mc.mu is held.
func (mc *MessageContext) refusing(what string) error {
	if mc.closed == open {
		return nil
	}
	return fmt.Errorf("%w: %s, for message %s (%s), came too late; a MessageContext is valid only while its handler runs", ErrHandlerReturned, what, mc.env.ID, mc.env.Type)
}

// settle closes mc for good: the message it stands for is settled.
func (mc *MessageContext) settle() {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.closed = settled
	mc.outgoing, mc.cancels = nil, nil
}

// ID returns the message id (ce-id).
func (mc *MessageContext) ID() string { return mc.env.ID }

// Type returns the message type (ce-type), its proto full name.
func (mc *MessageContext) Type() string { return mc.env.Type }

// Source returns the endpoint or program that sent the message (ce-source).
func (mc *MessageContext) Source() string { return mc.env.Source }

// Time returns when the message was sent (ce-time).
func (mc *MessageContext) Time() time.Time { return mc.env.Time }

// CorrelationID returns the id of the conversation the message belongs to.
// Everything the handler sends or publishes carries it on.
func (mc *MessageContext) CorrelationID() string { return mc.env.CorrelationID }

// CausationID returns the id of the message whose handler sent this one,
// or "" for a message sent outside a handler.
func (mc *MessageContext) CausationID() string { return mc.env.CausationID }

// Subject returns the NATS subject the message arrived on.
func (mc *MessageContext) Subject() string { return mc.subject }

// Header returns the value of a NATS header of the message.
func (mc *MessageContext) Header(name string) string { return mc.headers.Get(name) }

// Attempt returns which try of the message this is, counting every call
// of the handler: 1 the first time, 2 for the first immediate retry, and
// so on through the delayed deliveries, as [RetryPolicy] counts them. With
// 3 immediate retries, the second delivery is attempt 5.
func (mc *MessageContext) Attempt() int { return mc.attempt }

// Delivery returns how many times the server has delivered the message,
// counting this delivery: 1 the first time. Immediate retries run within
// one delivery; a crash, a delayed retry or a stop makes another.
func (mc *MessageContext) Delivery() int { return mc.delivery }

// Endpoint returns the name of the endpoint handling the message.
func (mc *MessageContext) Endpoint() string { return mc.ep.name }

// Dispatch keeps out to be dispatched after the handler succeeds. The
// generated SendX and PublishX functions call it.
func (mc *MessageContext) Dispatch(ctx context.Context, out Outgoing) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if mc.detached != nil {
		return mc.record(out)
	}
	if out.Message == nil || !out.Message.ProtoReflect().IsValid() {
		return fmt.Errorf("gobus: %s %s: the message is nil", verb(out.Route.Kind), out.Route.Type)
	}
	subject, err := mc.ep.client.destination(out)
	if err != nil {
		return err
	}
	if out.Route.Kind == KindCommand && out.replyTo == "" && out.replyEndpoint == "" && mc.ep.handlesRepliesTo(out.Route.Type) {
		out.replyEndpoint = mc.ep.name
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if err := mc.refusing(verb(out.Route.Kind) + " " + out.Route.Type); err != nil {
		return err
	}
	if !out.deliverAt.IsZero() {
		if err := mc.nameScheduled(&out, subject); err != nil {
			return err
		}
	}
	mc.outgoing = append(mc.outgoing, pendingOutgoing{out: out, ctx: ctx})
	return nil
}

// nameScheduled gives a held-back message its id now, not at flush, so
// that the handler knows its schedule's id before it returns. The id is
// derived as at flush, apart from the others, so a retry schedules under
// the same ids. mc.mu is held.
func (mc *MessageContext) nameScheduled(out *Outgoing, subject string) error {
	if out.MessageID == "" {
		data, err := marshal(*out)
		if err != nil {
			return err
		}
		if mc.scheduledIDs.endpoint == "" {
			mc.scheduledIDs = derivedIDs{endpoint: mc.ep.name + "/scheduled", incoming: mc.env.ID}
		}
		out.MessageID = mc.scheduledIDs.next(subject, out.Route.Type, data)
	}
	if out.scheduled == nil {
		return nil
	}
	sched, err := mc.ep.client.scheduleSubject(*out, out.MessageID)
	if err != nil {
		return err
	}
	*out.scheduled, _ = schedule.Key(mc.ep.client.names.Prefix, sched)
	return nil
}

// pendingOutgoing is a message a handler sent, kept until it succeeds,
// with the context it was sent with, for the dispatch chain.
type pendingOutgoing struct {
	out Outgoing
	ctx context.Context
}

// discard drops what a failed attempt gave to mc.
func (mc *MessageContext) discard() {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.closed == sealed {
		mc.closed = open // the try failed after all: the next may send
	}
	mc.outgoing = nil
	mc.scheduledIDs = derivedIDs{}
	mc.cancels = nil
}

// idNamespace derives the ids of outgoing messages from the incoming id.
var idNamespace = uuid.MustParse("6b3f3c5e-0f4e-4b8e-9a43-2f7c1c0b9a10")

// derivedIDs names the messages one handler run dispatches. An id depends
// on the endpoint handling the message, the incoming id, the outgoing
// type, subject and body, and how many equal messages came before: a
// retry that sends the same messages sends the same ids, whatever order
// its goroutines sent them in, so JetStream drops the copies; two
// endpoints handling one event and sending equal messages send two.
type derivedIDs struct {
	endpoint string
	incoming string
	seen     map[[sha256.Size]byte]int
}

func (d *derivedIDs) next(subject, typ string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	h.Write([]byte{0})
	h.Write(body)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if d.seen == nil {
		d.seen = map[[sha256.Size]byte]int{}
	}
	n := d.seen[key]
	d.seen[key] = n + 1
	name := d.endpoint + "/" + d.incoming + "/" + hex.EncodeToString(key[:]) + "/" + strconv.Itoa(n)
	return uuid.NewSHA1(idNamespace, []byte(name)).String()
}

// flush dispatches everything the handler gave to mc, pipelined, and
// returns once JetStream has stored all of it. Every message is encoded,
// run through the dispatch chain (with the context the handler sent it
// with) and checked first, so a message that cannot be sent (one larger
// than the server's max payload, say) fails the handler before any is
// sent.
func (mc *MessageContext) flush(ctx context.Context) error {
	output, cancels, err := mc.seal(ctx)
	if err != nil {
		return err
	}
	if output != nil {
		if err := output.publish(ctx, mc.ep.client); err != nil {
			return err
		}
	}
	return mc.cancelScheduled(ctx, cancels)
}

// seal takes what the handler gave to mc: its outgoing messages encoded,
// through the dispatch chain and checked, ready to publish (nil if it
// sent none), and the schedules it cancelled.
func (mc *MessageContext) seal(ctx context.Context) (*handlerOutput, []string, error) {
	mc.mu.Lock()
	outgoing, cancels := mc.outgoing, mc.cancels
	mc.outgoing, mc.cancels = nil, nil
	if mc.closed == open {
		mc.closed = sealed
	}
	mc.mu.Unlock()
	if len(outgoing) == 0 {
		return nil, cancels, nil
	}
	c := mc.ep.client
	ids := derivedIDs{endpoint: mc.ep.name, incoming: mc.env.ID}
	output := &handlerOutput{msgs: make([]*OutgoingMessage, 0, len(outgoing))}
	for _, p := range outgoing {
		out := p.out
		data, err := marshal(out)
		if err != nil {
			return nil, nil, err
		}
		subject, err := c.destination(out)
		if err != nil {
			return nil, nil, err
		}
		id := out.MessageID
		if id == "" {
			id = ids.next(subject, out.Route.Type, data)
		}
		msg, err := c.encode(out, data, id, mc.ep.name, mc.correlationFor(out), mc.env.ID)
		if err != nil {
			return nil, nil, err
		}
		if err := mc.ep.dispatch(p.ctx, c.newOutgoing(out, id, msg, output)); err != nil {
			return nil, nil, err
		}
	}
	return output, cancels, nil
}

// correlationFor is the correlation id of a message the handler sends:
// the sender's choice, else the incoming correlation id, else the
// incoming id.
func (mc *MessageContext) correlationFor(out Outgoing) string {
	switch {
	case out.CorrelationID != "":
		return out.CorrelationID
	case mc.env.CorrelationID != "":
		return mc.env.CorrelationID
	}
	return mc.env.ID
}
