package gobustest

import (
	"time"

	"google.golang.org/protobuf/proto"

	gobus "github.com/gobusdev/gobus/runtime"
)

// Sent returns the commands of type M the handler sent through mc at
// once, in the order it sent them; held-back ones are [Scheduled]'s.
func Sent[M proto.Message](mc *gobus.MessageContext) []M {
	return messagesOf[M](mc, func(r gobus.RecordedOutgoing) bool {
		return r.Route.Kind == gobus.KindCommand && r.DeliverAt().IsZero()
	})
}

// Published returns the events of type M the handler published through mc
// at once, in order; held-back ones are [Scheduled]'s.
func Published[M proto.Message](mc *gobus.MessageContext) []M {
	return messagesOf[M](mc, func(r gobus.RecordedOutgoing) bool { return r.Route.Kind == gobus.KindEvent && r.DeliverAt().IsZero() })
}

// Replied returns the replies of type M the handler gave through mc, in
// order.
func Replied[M proto.Message](mc *gobus.MessageContext) []M {
	return messagesOf[M](mc, func(r gobus.RecordedOutgoing) bool { return r.Route.Kind == gobus.KindReply })
}

// Held is a message of type M that the handler held back with
// [gobus.After] or [gobus.At].
type Held[M proto.Message] struct {
	// Message is the message.
	Message M
	// Kind says whether it was sent (a command) or published (an event).
	Kind gobus.Kind
	// Delay is how long it is held back: After's d, or for At the time
	// from when the handler sent it.
	Delay time.Duration
	// DeliverAt is when it is due.
	DeliverAt time.Time
	// ScheduledID is the id that cancels it, as [gobus.ScheduledID] gave
	// it to the handler.
	ScheduledID string
}

// Scheduled returns the messages of type M, commands and events, that the
// handler held back through mc, in order.
func Scheduled[M proto.Message](mc *gobus.MessageContext) []Held[M] {
	var held []Held[M]
	for _, r := range mc.Recorded() {
		m, ok := r.Message.(M)
		if !ok || r.DeliverAt().IsZero() {
			continue
		}
		held = append(held, Held[M]{Message: m, Kind: r.Route.Kind, Delay: r.Delay, DeliverAt: r.DeliverAt(), ScheduledID: r.ScheduledID})
	}
	return held
}

// Cancelled returns the schedule ids the handler cancelled through mc
// with [gobus.MessageContext.CancelScheduled], in order.
func Cancelled(mc *gobus.MessageContext) []string { return mc.RecordedCancels() }

func messagesOf[M proto.Message](mc *gobus.MessageContext, keep func(gobus.RecordedOutgoing) bool) []M {
	var out []M
	for _, r := range mc.Recorded() {
		if m, ok := r.Message.(M); ok && keep(r) {
			out = append(out, m)
		}
	}
	return out
}
