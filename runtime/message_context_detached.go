package gobus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/schedule"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// MessageInfo is what a detached [MessageContext] says about the message
// it stands for: what the handler reads through [MessageContext.ID],
// [MessageContext.Attempt] and the others.
type MessageInfo struct {
	// ID is the message id (ce-id); empty gets a random one.
	ID string
	// Type is the message type (ce-type), its proto full name, such as the
	// generated PlaceOrderType constant. [Reply] checks it against the
	// replies the command declares.
	Type string
	// Source is the endpoint or program that sent the message.
	Source string
	// CorrelationID is the conversation's id; empty makes it ID, as for a
	// message that starts a conversation.
	CorrelationID string
	// CausationID is the id of the message whose handler sent this one.
	CausationID string
	// Subject is the NATS subject the message arrived on.
	Subject string
	// Endpoint is the endpoint handling the message; empty is "test".
	Endpoint string
	// Attempt and Delivery count the tries and the deliveries, as
	// [MessageContext.Attempt] and [MessageContext.Delivery] say; 0 is 1.
	Attempt, Delivery int
	// Time is when the message was sent (ce-time); zero is now.
	Time time.Time
	// Headers are the NATS headers [MessageContext.Header] reads.
	Headers map[string]string
	// Logger takes what the runtime logs while the handler runs; nil
	// discards it.
	Logger *slog.Logger
}

// NewDetachedMessageContext returns a MessageContext for info that is tied
// to no endpoint nor connection, for testing a handler by calling it: what
// the handler sends, publishes, replies, schedules and cancels through it
// is recorded, never dispatched, and [MessageContext.Recorded] and
// [MessageContext.RecordedCancels] return it. Package gobustest
// (github.com/gobusdev/gobus/runtime/gobustest) builds its test kit on it.
//
// A reply is recorded whether or not the command asked for one, as long
// as the command's contract declares it. A held-back message gets a
// schedule id ([ScheduledID]) of the form the runtime gives.
func NewDetachedMessageContext(info MessageInfo) *MessageContext {
	if info.ID == "" {
		info.ID = uuid.NewString()
	}
	if info.CorrelationID == "" {
		info.CorrelationID = info.ID
	}
	if info.Endpoint == "" {
		info.Endpoint = "test"
	}
	if info.Time.IsZero() {
		info.Time = time.Now()
	}
	if info.Logger == nil {
		info.Logger = slog.New(slog.DiscardHandler)
	}
	headers := nats.Header{}
	for k, v := range info.Headers {
		headers.Set(k, v)
	}
	return &MessageContext{
		ep: &Endpoint{name: info.Endpoint, log: info.Logger.With("endpoint", info.Endpoint)},
		env: &wire.Envelope{ID: info.ID, Type: info.Type, Source: info.Source, Time: info.Time,
			CorrelationID: info.CorrelationID, CausationID: info.CausationID},
		headers:  headers,
		subject:  info.Subject,
		attempt:  max(info.Attempt, 1),
		delivery: max(info.Delivery, 1),
		detached: &detachedRecord{},
	}
}

// RecordedOutgoing is one message a handler gave to a detached
// [MessageContext], in the order it gave them.
type RecordedOutgoing struct {
	// Outgoing is the message as the handler gave it.
	Outgoing
	// Delay is how long the message is held back: the d of [After], or
	// for [At] the time from when it was dispatched until then; 0 for a
	// message sent at once.
	Delay time.Duration
	// ScheduledID is the id of its schedule, the one [ScheduledID] gave
	// the handler; "" for a message sent at once.
	ScheduledID string
}

// detachedRecord is what the handler gave a detached MessageContext.
type detachedRecord struct {
	outgoing []RecordedOutgoing
	cancels  []string
}

// Recorded returns what the handler sent, published and replied through
// a context made by [NewDetachedMessageContext], in order; nil for any
// other context, whose messages are dispatched instead.
func (mc *MessageContext) Recorded() []RecordedOutgoing {
	if mc.detached == nil {
		return nil
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return append([]RecordedOutgoing(nil), mc.detached.outgoing...)
}

// RecordedCancels returns the schedule ids the handler cancelled with
// [MessageContext.CancelScheduled] through a context made by
// [NewDetachedMessageContext], in order; nil for any other context.
func (mc *MessageContext) RecordedCancels() []string {
	if mc.detached == nil {
		return nil
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return append([]string(nil), mc.detached.cancels...)
}

// DeliverAt returns when the message is to be delivered, if it is held
// back with [After] or [At]; the zero time otherwise.
func (out Outgoing) DeliverAt() time.Time { return out.deliverAt }

// record keeps out in the detached context, checked as Dispatch checks it.
func (mc *MessageContext) record(out Outgoing) error {
	if out.Message == nil || !out.Message.ProtoReflect().IsValid() {
		return fmt.Errorf("gobus: %s %s: the message is nil", verb(out.Route.Kind), out.Route.Type)
	}
	if err := out.Route.validate(); err != nil && out.Route.Kind != KindReply {
		return err
	}
	rec := RecordedOutgoing{Outgoing: out}
	if !out.deliverAt.IsZero() {
		if out.Route.Kind == KindReply {
			return invalidf("a reply cannot be scheduled")
		}
		rec.Delay = out.after
		if rec.Delay <= 0 {
			rec.Delay = time.Until(out.deliverAt)
		}
		rec.ScheduledID = detachedScheduleID(out)
		if out.scheduled != nil {
			*out.scheduled = rec.ScheduledID
		}
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.detached.outgoing = append(mc.detached.outgoing, rec)
	return nil
}

// detachedScheduleID is a schedule id of the form the runtime gives.
func detachedScheduleID(out Outgoing) string {
	id := out.MessageID
	if id == "" {
		id = uuid.NewString()
	}
	if out.Route.Kind == KindEvent {
		return "evt." + schedule.Token(id)
	}
	return "cmd." + out.Route.Endpoint + "." + schedule.Token(id)
}

// recordCancel keeps a cancel in the detached context, checked as
// CancelScheduled checks it.
func (mc *MessageContext) recordCancel(_ context.Context, id string) error {
	parts := strings.Split(id, ".")
	valid := (len(parts) == 3 && parts[0] == "cmd" && topology.ValidToken(parts[1]) && parts[2] != "") ||
		(len(parts) == 2 && parts[0] == "evt" && parts[1] != "")
	if !valid {
		return invalidf("%q is not the id of a scheduled message: use the one gobus.ScheduledID gave", id)
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.detached.cancels = append(mc.detached.cancels, id)
	return nil
}
