package gobus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/schedule"
	"github.com/gobusdev/gobus/internal/topology"
)

// ErrScheduleFired is returned, wrapped, by [Client.CancelScheduled] for a
// scheduled message that already fired and was delivered.
var ErrScheduleFired = errors.New("gobus: the scheduled message already fired")

// After holds the message back on the NATS server for d: it is delivered
// no earlier than d after it is sent (from a handler, d after the handler
// sent it; it is scheduled only if the handler succeeds). A d of zero or
// less sends it at once. The schedule lives in JetStream, so it survives
// restarts of the sender and of the server; [ScheduledID] gives the id
// that cancels it.
func After(d time.Duration) DispatchOption {
	return dispatchOptionFunc(func(o *Outgoing) {
		if d > 0 {
			o.deliverAt, o.after = time.Now().Add(d), d
		}
	})
}

// At holds the message back on the NATS server until t, as [After] does;
// a t not in the future sends it at once.
func At(t time.Time) DispatchOption {
	return dispatchOptionFunc(func(o *Outgoing) { o.deliverAt, o.after = t, 0 })
}

// ScheduledID stores in *id the id of the message's schedule, for
// [Client.CancelScheduled], once the send or publish returns nil: "" if
// the message was not held back. It is known from a handler too, before
// the handler returns, so that the handler can keep it.
func ScheduledID(id *string) DispatchOption {
	return dispatchOptionFunc(func(o *Outgoing) { o.scheduled = id })
}

// heldBack reports whether out is held back, deciding for a time not in
// the future that it is not: [Send] and [Publish] decide as they send, so
// that a handler's message stays held back even if its time comes before
// the handler returns.
func (out *Outgoing) heldBack() bool {
	if out.deliverAt.IsZero() {
		return false
	}
	if !out.deliverAt.After(time.Now()) {
		out.deliverAt = time.Time{}
		if out.scheduled != nil {
			*out.scheduled = ""
		}
		return false
	}
	return true
}

// scheduleSubject is the schedule subject of out with id: in its target's
// stream, as the server fires a schedule only into its own stream.
func (c *Client) scheduleSubject(out Outgoing, id string) (string, error) {
	token := schedule.Token(id)
	switch out.Route.Kind {
	case KindCommand:
		return c.names.ScheduleSubject(c.endpointFor(out.Route), token), nil
	case KindEvent:
		if ahead := time.Until(out.deliverAt); c.cfg.eventsMaxAge > 0 && ahead > c.cfg.eventsMaxAge {
			return "", invalidf("publishing %s %v ahead: the events stream keeps a message for %v (WithEventsMaxAge), and would drop the schedule before it fires", out.Route.Type, ahead.Round(time.Second), c.cfg.eventsMaxAge)
		}
		return c.names.EventScheduleSubject(token), nil
	}
	return "", invalidf("a %s cannot be scheduled", out.Route.Kind)
}

// hold turns msg into the schedule of out, and records its id.
func (c *Client) hold(out Outgoing, id string, msg *nats.Msg) error {
	subject, err := c.scheduleSubject(out, id)
	if err != nil {
		return err
	}
	schedule.Wrap(msg, subject, out.deliverAt)
	if out.scheduled != nil {
		*out.scheduled, _ = schedule.Key(c.names.Prefix, subject)
	}
	return nil
}

// CancelScheduled cancels the scheduled message whose id [ScheduledID]
// gave: once it returns nil, the message is never delivered, even if its
// time came while it was cancelled (a copy fired in that instant is
// dropped by the endpoint that receives it). It fails with
// [ErrScheduleFired] when the message was delivered first. Cancelling
// twice is not an error.
func (c *Client) CancelScheduled(ctx context.Context, id string) error {
	if err := c.usable(); err != nil {
		return err
	}
	stream, subject, err := c.scheduleOf(id)
	if err != nil {
		return err
	}
	kv, err := c.schedules(ctx)
	if err != nil {
		return err
	}
	s, err := c.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("gobus: cancelling scheduled message %s: stream %s: %w", id, stream, err)
	}
	if err := schedule.Cancel(ctx, kv, s, subject, id); err != nil {
		if errors.Is(err, schedule.ErrFired) {
			return fmt.Errorf("%w: %s", ErrScheduleFired, id)
		}
		return fmt.Errorf("gobus: cancelling scheduled message: %w", err)
	}
	return nil
}

// CancelScheduled cancels the scheduled message whose id
// [ScheduledID] gave, once the handler succeeds and what it sent is
// stored: a handler that fails cancels nothing, so a saga that cancels its
// timeout and records that it did either does both or neither. Whether the
// message had already fired is not reported (a debug log says so): a
// handler that cancels must still expect the message, as it may fire in
// the meantime. The id is checked at once.
func (mc *MessageContext) CancelScheduled(ctx context.Context, id string) error {
	if mc.detached != nil {
		return mc.recordCancel(ctx, id)
	}
	if _, _, err := mc.ep.client.scheduleOf(id); err != nil {
		return err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if err := mc.refusing("the cancel of " + id); err != nil {
		return err
	}
	mc.cancels = append(mc.cancels, id)
	return nil
}

// cancelScheduled cancels what the handler asked to, after it succeeded.
func (mc *MessageContext) cancelScheduled(ctx context.Context, ids []string) error {
	for _, id := range ids {
		err := mc.ep.client.CancelScheduled(ctx, id)
		switch {
		case errors.Is(err, ErrScheduleFired):
			mc.ep.log.Debug("gobus: a handler cancelled a scheduled message that already fired", "schedule", id, "type", mc.Type(), "id", mc.ID())
		case err != nil:
			return err
		}
	}
	return nil
}

// scheduleOf is the stream and schedule subject of schedule id.
func (c *Client) scheduleOf(id string) (stream, subject string, err error) {
	parts := strings.Split(id, ".")
	switch {
	case len(parts) == 3 && parts[0] == "cmd" && topology.ValidToken(parts[1]) && parts[2] != "":
		return c.names.QueueStream(parts[1]), c.names.ScheduleSubject(parts[1], parts[2]), nil
	case len(parts) == 2 && parts[0] == "evt" && parts[1] != "":
		return c.names.EventsStream(), c.names.EventScheduleSubject(parts[1]), nil
	}
	return "", "", invalidf("%q is not the id of a scheduled message: use the one gobus.ScheduledID gave", id)
}

// schedulesBucket is the client's handle on the schedules bucket, created
// on first use when the installer is on.
type schedulesBucket struct {
	mu sync.Mutex
	kv jetstream.KeyValue
}

func (c *Client) schedules(ctx context.Context) (jetstream.KeyValue, error) {
	b := &c.schedulesKV
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kv != nil {
		return b.kv, nil
	}
	name := c.names.SchedulesBucket()
	var kv jetstream.KeyValue
	var err error
	if c.cfg.install {
		kv, err = c.js.CreateOrUpdateKeyValue(ctx, schedule.BucketConfig(name, c.cfg.replicas))
	} else {
		kv, err = c.js.KeyValue(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("gobus: the schedules bucket %s: %w", name, err)
	}
	b.kv = kv
	return kv, nil
}

// claimScheduled is the outermost link of every handling chain: a
// message fired from a schedule is handled only if it claims its
// schedule's key before a cancel does; one a cancel claimed first is
// dropped (acknowledged, not handled).
func (ep *Endpoint) claimScheduled(next Handler) Handler {
	return func(ctx context.Context, mc *MessageContext, msg proto.Message) error {
		from := schedule.FiredFrom(mc.headers)
		if from == "" {
			return next(ctx, mc, msg)
		}
		key, ok := schedule.Key(ep.client.names.Prefix, from)
		if !ok {
			return next(ctx, mc, msg)
		}
		kv, err := ep.client.schedules(ctx)
		if err != nil {
			return err
		}
		handle, err := schedule.ClaimFired(ctx, kv, key)
		if err != nil {
			return fmt.Errorf("gobus: %w", err)
		}
		if !handle {
			ep.log.Debug("gobus: dropped a scheduled message cancelled as it fired", "type", mc.Type(), "id", mc.ID(), "schedule", key)
			return nil
		}
		return next(ctx, mc, msg)
	}
}
