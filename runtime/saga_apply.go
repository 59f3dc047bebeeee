package gobus

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
)

// SagaInstance is one instance of a saga: its id and state.
type SagaInstance[S proto.Message] struct {
	// ID names the instance.
	ID string
	// State is its state.
	State S
	// Completed marks an instance that completed; it handles nothing
	// more.
	Completed bool
}

// SagaOutcome is what one message did to a saga.
type SagaOutcome int

const (
	// SagaStarted: the message started an instance.
	SagaStarted SagaOutcome = iota + 1
	// SagaUpdated: the message was applied to an existing instance.
	SagaUpdated
	// SagaCompleted: the message's handler completed the instance.
	SagaCompleted
	// SagaNotFound: no instance exists for the message and it does not
	// start one; its not-found path ran (it was ignored, failed, or
	// handled by its not-found handler).
	SagaNotFound
	// SagaIgnored: a timeout arrived for an instance that is gone.
	SagaIgnored
)

// String returns the outcome's name, such as "started".
func (o SagaOutcome) String() string {
	switch o {
	case SagaStarted:
		return "started"
	case SagaUpdated:
		return "updated"
	case SagaCompleted:
		return "completed"
	case SagaNotFound:
		return "not found"
	case SagaIgnored:
		return "ignored"
	}
	return fmt.Sprintf("SagaOutcome(%d)", int(o))
}

// sagaIDNamespace derives instance ids from the message that started the
// instance, so that a redelivery of that message names the same instance.
var sagaIDNamespace = uuid.MustParse("0d1f9a52-7a4e-4c1b-9e55-3f1f1f8a6c21")

// Apply runs the saga's handler for msg as an endpoint would, on an
// instance in memory: it is the step an endpoint takes between loading an
// instance and storing it, for test kits and tools. inst is the instance
// msg's correlation value finds (nil: none), or for a timeout the
// instance that requested it. What the handler sends, publishes, replies
// and requests (timeouts are held-back sends of the timeout's type to
// mc's endpoint) stays in mc, as with any handler.
//
// Apply returns the instance after the step (nil once it completed, or
// when no instance was found), the outcome, and the handler's error;
// after an error the instance is as it was, and what the handler sent
// must be discarded.
func (s *Saga[S]) Apply(ctx context.Context, mc *MessageContext, inst *SagaInstance[S], msg proto.Message) (*SagaInstance[S], SagaOutcome, error) {
	next, outcome, _, err := s.apply(ctx, mc, inst, msg)
	return next, outcome, err
}

// apply is [Saga.Apply], also returning the handler's saga context (nil
// when no handler of the saga ran).
func (s *Saga[S]) apply(ctx context.Context, mc *MessageContext, inst *SagaInstance[S], msg proto.Message) (*SagaInstance[S], SagaOutcome, *SagaContext[S], error) {
	step, err := s.stepFor(msg)
	if err != nil {
		return inst, 0, nil, err
	}
	if inst != nil && inst.Completed {
		inst = nil
	}
	var key string
	if !step.timeout {
		if key, err = correlationValue(msg.ProtoReflect(), step.field); err != nil {
			return inst, 0, nil, err
		}
	}
	sc := &SagaContext[S]{MessageContext: mc, saga: s}
	switch {
	case inst == nil && step.timeout:
		return nil, SagaIgnored, nil, nil
	case inst == nil && !step.start.starts:
		switch {
		case step.start.fail:
			return nil, SagaNotFound, nil, Unrecoverable(fmt.Errorf("gobus: saga %s has no instance for %s %q, and %s does not start one", s.name, step.field.Name(), key, step.route.Type))
		case step.start.missing != nil:
			return nil, SagaNotFound, nil, step.start.missing(ctx, mc, msg)
		}
		return nil, SagaNotFound, nil, nil
	case inst == nil:
		state := s.stateType.New()
		state.Set(s.correlation, msg.ProtoReflect().Get(step.field))
		sc.state = state.Interface().(S)
		sc.isNew = true
		sc.instanceID = uuid.NewSHA1(sagaIDNamespace, []byte(s.name+"\x00"+key+"\x00"+mc.ID())).String()
	default:
		sc.state = proto.Clone(inst.State).(S)
		sc.instanceID = inst.ID
		if !step.timeout {
			if have, _ := correlationValue(sc.state.ProtoReflect(), s.correlation); have != key {
				return inst, 0, nil, Unrecoverable(fmt.Errorf("gobus: saga %s: %s %q was handed the instance of %q", s.name, step.route.Type, key, have))
			}
		}
	}
	before := sc.state.ProtoReflect().Get(s.correlation)
	if err := step.handle(ctx, sc, msg); err != nil {
		return inst, 0, sc, err
	}
	if after := sc.state.ProtoReflect().Get(s.correlation); !after.Equal(before) {
		return inst, 0, sc, Unrecoverable(fmt.Errorf("gobus: saga %s: the %s handler changed the state's %s from %v to %v: it identifies the instance and must not change", s.name, step.route.Type, s.correlation.Name(), before, after))
	}
	if sc.Completed() {
		return nil, SagaCompleted, sc, nil
	}
	next := &SagaInstance[S]{ID: sc.instanceID, State: sc.state}
	if sc.isNew {
		return next, SagaStarted, sc, nil
	}
	return next, SagaUpdated, sc, nil
}
