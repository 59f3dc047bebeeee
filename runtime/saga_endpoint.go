package gobus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gobusdev/gobus/internal/schedule"
	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// The headers a saga's timeout carries, naming the instance it goes to.
const (
	headerSaga         = "gobus-saga"          // the saga's name
	headerSagaKey      = "gobus-saga-key"      // the instance's key, escaped
	headerSagaInstance = "gobus-saga-instance" // the instance's id
)

// sagaConflictTries is how often a saga's message is applied again, at
// once, when another handler wrote the instance between its read and its
// write, before the attempt fails.
const sagaConflictTries = 25

func sagaHeaders(saga, key, instance string) nats.Header {
	return nats.Header{
		headerSaga:         {saga},
		headerSagaKey:      {topology.SagaKey(key)},
		headerSagaInstance: {instance},
	}
}

// RegisterSaga has ep run saga s: ep handles every message s handles
// (subscribing to its events; its commands must be routed to ep), and
// keeps s's instances in s's bucket, which the installer creates when ep
// starts. The generated RegisterXSaga functions call it. A saga's message
// types are handled by the saga alone on ep.
func RegisterSaga[S proto.Message](ep *Endpoint, s *Saga[S]) error {
	if s == nil {
		return invalidf("the saga is nil")
	}
	if s.err != nil {
		return s.err
	}
	run := &sagaRunner[S]{saga: s, ep: ep, locks: newKeyLocks()}
	regs := make([]*registration, 0, len(s.steps))
	for _, step := range s.steps {
		r := step.route
		if step.timeout {
			r = sagaTimeoutRoute(r.Type, ep.name)
		}
		reg := &registration{route: r, decode: decoderFor(step.msgType, r.Type), call: run.handle}
		if r.Kind == KindEvent {
			subjects, err := ep.eventSubjects(r, nil)
			if err != nil {
				return err
			}
			reg.filterSubjects = subjects
		}
		regs = append(regs, reg)
	}
	slices.SortFunc(regs, func(a, b *registration) int { return cmpString(a.route.Type, b.route.Type) })
	if err := ep.registerAll(regs, run.open); err != nil {
		return err
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.sagaStates = append(ep.sagaStates, s.name)
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sagaRunner runs one saga on one endpoint.
type sagaRunner[S proto.Message] struct {
	saga  *Saga[S]
	ep    *Endpoint
	store *sagaStore
	locks *keyLocks
}

// open opens the saga's bucket as the endpoint starts.
func (run *sagaRunner[S]) open(ctx context.Context) error {
	st, err := run.ep.client.openSagaStore(ctx, run.saga.name, run.ep.cfg.completedSagaTTL)
	if err != nil {
		return err
	}
	run.store = st
	return nil
}

// handle applies one message to its instance: it reads the instance,
// runs the handler, writes the new state together with what the handler
// sent (compare-and-set on the revision read), stores what it sent in
// JetStream, and clears it from the record. A crash anywhere leaves the
// message unacknowledged: its redelivery finds its id among the applied
// ones and only sends again what the record still holds, under the same
// ids, which JetStream deduplicates.
func (run *sagaRunner[S]) handle(ctx context.Context, mc *MessageContext, msg proto.Message) error {
	s := run.saga
	step, err := s.stepFor(msg)
	if err != nil {
		return err
	}
	key, err := run.keyOf(mc, step, msg)
	if err != nil {
		return err
	}
	unlock := run.locks.lock(key)
	defer unlock()
	for try := 1; ; try++ {
		err := run.try(ctx, mc, step, key, msg)
		if !errors.Is(err, errSagaConflict) {
			return err
		}
		mc.discard()
		if try == sagaConflictTries {
			return fmt.Errorf("gobus: saga %s, instance %s: %d writes in a row lost to other handlers of the instance: %w", s.name, key, try, err)
		}
		// Other instances of the endpoint write the same instance: let
		// the winner finish.
		time.Sleep(time.Duration(rand.IntN(try*2000)) * time.Microsecond)
	}
}

// keyOf is the bucket key of the instance msg goes to.
func (run *sagaRunner[S]) keyOf(mc *MessageContext, step *sagaStep[S], msg proto.Message) (string, error) {
	if !step.timeout {
		value, err := correlationValue(msg.ProtoReflect(), step.field)
		if err != nil {
			return "", err
		}
		return topology.SagaKey(value), nil
	}
	if saga := mc.Header(headerSaga); saga != run.saga.name {
		return "", Unrecoverable(fmt.Errorf("gobus: the timeout %s is for saga %q, not %s (header %s)", step.route.Type, saga, run.saga.name, headerSaga))
	}
	key := mc.Header(headerSagaKey)
	if _, err := topology.SagaValue(key); err != nil || key == "" {
		return "", Unrecoverable(fmt.Errorf("gobus: the timeout %s has no valid instance key in header %s: %q", step.route.Type, headerSagaKey, key))
	}
	return key, nil
}

// try is one read, apply and write of msg on its instance; it fails with
// errSagaConflict if another handler wrote the instance in between.
func (run *sagaRunner[S]) try(ctx context.Context, mc *MessageContext, step *sagaStep[S], key string, msg proto.Message) error {
	s, st := run.saga, run.store
	rec, rev, err := st.load(ctx, key)
	if err != nil {
		return err
	}
	if rec != nil && slices.Contains(rec.Applied, mc.ID()) {
		return run.redelivered(ctx, mc, key, rec, rev)
	}
	if rec != nil && len(rec.Pending) > 0 {
		// Another message's output, written with the state but perhaps
		// never sent: send it first, under its ids, before it is replaced.
		if err := run.ep.client.publishPending(ctx, rec.Pending); err != nil {
			return err
		}
	}
	inst, err := run.instanceOf(rec)
	if err != nil {
		return err
	}
	var fired string
	if step.timeout {
		if fired, _ = schedule.Key(run.ep.client.names.Prefix, schedule.FiredFrom(mc.headers)); inst == nil || !run.awaits(rec, mc, fired) {
			run.ep.log.Debug("gobus: dropped a saga timeout: its instance completed, or cancelled it", "saga", s.name, "type", mc.Type(), "id", mc.ID(), "instance", mc.Header(headerSagaInstance))
			return nil
		}
	}
	next, outcome, sc, err := s.apply(ctx, mc, inst, msg)
	if err != nil {
		return err
	}
	switch outcome {
	case SagaNotFound:
		if !step.start.fail && step.start.missing == nil {
			run.ep.log.Info("gobus: no saga instance for the message, which does not start one: ignored", "saga", s.name, "type", mc.Type(), "id", mc.ID(), "key", key)
		}
		return nil
	case SagaIgnored:
		return nil
	}
	output, cancels, err := mc.seal(ctx)
	if err != nil {
		return err
	}
	pending, err := pendingOf(output)
	if err != nil {
		return err
	}
	out := run.nextRecord(rec, key, next, sc, mc.ID(), pending, cancels, fired)
	newRev, err := st.write(ctx, key, rev, out)
	if err != nil {
		return err
	}
	if output != nil {
		if err := output.publish(ctx, run.ep.client); err != nil {
			return err
		}
	}
	if out.Completed {
		// Its timeouts would be dropped when they fire; cancel them so
		// that they do not.
		cancels = append(cancels, rec.GetTimeouts()...)
	}
	if err := mc.cancelScheduled(ctx, cancels); err != nil {
		return err
	}
	if len(out.Pending) > 0 {
		out.Pending, out.PendingFor = nil, ""
		if _, err := st.write(ctx, key, newRev, out); err != nil && !errors.Is(err, errSagaConflict) {
			// Left in the record, the output is sent again by the next
			// message, deduplicated by its ids.
			run.ep.log.Warn("gobus: could not clear a saga's sent messages from its record", "saga", s.name, "key", key, "error", err)
		}
	}
	return nil
}

// redelivered finishes a message that was applied before, and whose
// acknowledgement was lost: its output, if still in the record, is sent
// again and cleared.
func (run *sagaRunner[S]) redelivered(ctx context.Context, mc *MessageContext, key string, rec *gobusv1.SagaRecord, rev uint64) error {
	run.ep.log.Info("gobus: a saga message was applied before: not applied again", "saga", run.saga.name, "type", mc.Type(), "id", mc.ID(), "key", key)
	if rec.PendingFor != mc.ID() || len(rec.Pending) == 0 {
		return nil
	}
	if err := run.ep.client.publishPending(ctx, rec.Pending); err != nil {
		return err
	}
	rec.Pending, rec.PendingFor = nil, ""
	if _, err := run.store.write(ctx, key, rev, rec); err != nil && !errors.Is(err, errSagaConflict) {
		return err
	}
	return nil
}

// awaits reports whether the instance of rec awaits the timeout mc
// fired from schedule fired: one it requested and neither cancelled nor
// received.
func (run *sagaRunner[S]) awaits(rec *gobusv1.SagaRecord, mc *MessageContext, fired string) bool {
	if rec.GetInstanceId() != mc.Header(headerSagaInstance) {
		return false
	}
	return fired == "" || slices.Contains(rec.GetTimeouts(), fired)
}

// instanceOf decodes the instance rec holds; nil for none or a completed
// one.
func (run *sagaRunner[S]) instanceOf(rec *gobusv1.SagaRecord) (*SagaInstance[S], error) {
	if rec == nil || rec.Completed {
		return nil, nil
	}
	state := run.saga.stateType.New().Interface().(S)
	if err := proto.Unmarshal(rec.State, state); err != nil {
		return nil, Unrecoverable(fmt.Errorf("gobus: the state of saga %s instance %s is not a valid %s: %w", run.saga.name, rec.Key, run.saga.name, err))
	}
	return &SagaInstance[S]{ID: rec.InstanceId, State: state}, nil
}

// nextRecord is the record after msgID was applied: next's state (none
// once completed), msgID among the applied, the output pending, the
// timeouts requested added and the ones cancelled or fired removed.
func (run *sagaRunner[S]) nextRecord(rec *gobusv1.SagaRecord, key string, next *SagaInstance[S], sc *SagaContext[S], msgID string, pending []*gobusv1.SagaPendingMessage, cancels []string, fired string) *gobusv1.SagaRecord {
	value, _ := topology.SagaValue(key)
	out := &gobusv1.SagaRecord{Saga: run.saga.name, Key: value, InstanceId: sc.instanceID, Pending: pending}
	if len(pending) > 0 {
		out.PendingFor = msgID
	}
	if rec != nil && !rec.Completed {
		out.Created = rec.Created
		out.Applied = rec.Applied
		out.Timeouts = rec.Timeouts
	} else {
		out.Created = timestamppb.Now()
	}
	out.Applied = append(out.Applied, msgID)
	if n := len(out.Applied) - sagaAppliedKept; n > 0 {
		out.Applied = out.Applied[n:]
	}
	if next == nil {
		out.Completed = true
		out.Timeouts = nil
		return out
	}
	out.State, _ = proto.MarshalOptions{Deterministic: true}.Marshal(next.State)
	out.Timeouts = slices.DeleteFunc(slices.Clone(out.Timeouts), func(id string) bool {
		return id == fired || slices.Contains(cancels, id)
	})
	out.Timeouts = append(out.Timeouts, sc.requestedTimeouts()...)
	return out
}

// pendingOf is the record's copy of a handler's output, as it will be
// published.
func pendingOf(output *handlerOutput) ([]*gobusv1.SagaPendingMessage, error) {
	if output == nil {
		return nil, nil
	}
	pending := make([]*gobusv1.SagaPendingMessage, 0, len(output.msgs))
	for _, m := range output.msgs {
		p := &gobusv1.SagaPendingMessage{Subject: m.Msg.Subject, Data: m.Msg.Data}
		if m.Route.Kind == KindReply {
			durable, err := m.client.replyDestination(m.Msg.Subject)
			if err != nil {
				continue // dropped when published, and logged then
			}
			p.Direct = !durable
		}
		names := make([]string, 0, len(m.Msg.Header))
		for name := range m.Msg.Header {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			p.Headers = append(p.Headers, &gobusv1.SagaHeader{Name: name, Values: m.Msg.Header[name]})
		}
		pending = append(pending, p)
	}
	return pending, nil
}

// publishPending publishes messages a saga's record kept, as they were
// first published: under the same ids, so that JetStream drops those it
// already stored.
func (c *Client) publishPending(ctx context.Context, pending []*gobusv1.SagaPendingMessage) error {
	for _, p := range pending {
		msg := nats.NewMsg(p.Subject)
		msg.Data = p.Data
		for _, h := range p.Headers {
			msg.Header[h.Name] = h.Values
		}
		if p.Direct {
			if err := c.nc.PublishMsg(msg); err != nil {
				return fmt.Errorf("gobus: sending a saga's reply again: %w", err)
			}
			continue
		}
		if _, err := c.js.PublishMsg(ctx, msg); err != nil {
			return fmt.Errorf("gobus: sending a saga's message to %s again: %w", p.Subject, err)
		}
	}
	return nil
}
