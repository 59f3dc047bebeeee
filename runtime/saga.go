package gobus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Saga is a saga type: a long-running process whose state S, a proto
// message, lives in a JetStream key-value bucket between the messages it
// handles. Each message it handles names, by one of its fields, the
// instance it belongs to: the instance whose state has the same value in
// the saga's correlation field. The generated NewXSaga functions make one
// from the saga declared in the contract (option (gobus.v1.saga)), and
// the generated RegisterXSaga functions register it on an endpoint.
//
// Its instances are kept durably: an endpoint that restarts, or another
// instance of it, carries on where the last message left each one; see
// docs/guarantees.md for what a crash can and cannot do.
type Saga[S proto.Message] struct {
	name        string
	correlation protoreflect.FieldDescriptor
	stateType   protoreflect.MessageType
	steps       map[string]*sagaStep[S]
	err         error // what is wrong with the definition, reported at registration
}

// sagaStep is one message type a saga handles.
type sagaStep[S proto.Message] struct {
	route   Route                        // the message's route; for a timeout, Type only
	timeout bool                         // a timeout the saga requested of itself
	field   protoreflect.FieldDescriptor // the message's field holding the correlation value
	start   SagaStart
	handle  func(ctx context.Context, sc *SagaContext[S], msg proto.Message) error
	msgType protoreflect.MessageType
}

// SagaStep is one message type a saga handles: made by [SagaCommand],
// [SagaEvent] or [SagaTimeout] for [NewSaga].
type SagaStep[S proto.Message] struct {
	step *sagaStep[S]
	err  error
}

// SagaHandlerFunc handles one message of type M for the saga instance
// whose state is an S: sc holds the state, to read and change, and takes
// what the handler sends, publishes, replies and requests, as a
// [MessageContext] does. The state's changes and the outgoing messages
// are kept only if the handler returns nil.
type SagaHandlerFunc[S, M proto.Message] func(ctx context.Context, sc *SagaContext[S], msg M) error

// SagaStart says what a message does when no instance exists for its
// correlation value: [SagaStarts], [SagaIgnoreIfMissing],
// [SagaFailIfMissing] or [SagaHandleIfMissing].
type SagaStart struct {
	starts  bool
	fail    bool
	missing Handler // called when no instance exists; nil: ignore
}

// SagaStarts has a message start an instance when none exists for its
// correlation value.
func SagaStarts() SagaStart { return SagaStart{starts: true} }

// SagaIgnoreIfMissing has a message for which no instance exists logged
// and acknowledged: the contract's default.
func SagaIgnoreIfMissing() SagaStart { return SagaStart{} }

// SagaFailIfMissing moves a message for which no instance exists to the
// error stream, without retries, from where an operator can retry it once
// the instance exists.
func SagaFailIfMissing() SagaStart { return SagaStart{fail: true} }

// SagaHandleIfMissing has a message for which no instance exists handled
// by h, an ordinary handler: it may send, publish or fail as any handler.
func SagaHandleIfMissing[M proto.Message](h HandlerFunc[M]) SagaStart {
	return SagaStart{missing: func(ctx context.Context, mc *MessageContext, msg proto.Message) error {
		m, ok := msg.(M)
		if !ok {
			return Unrecoverable(fmt.Errorf("gobus: the not-found handler of %T was handed a %s", m, msg.ProtoReflect().Descriptor().FullName()))
		}
		return h(ctx, mc, m)
	}}
}

// SagaCommand has a saga handle the commands on route r with h. field is
// the command's field holding the correlation value; start says what the
// command does when no instance has it.
func SagaCommand[S, M proto.Message](r *CommandRoute[M], field protoreflect.Name, start SagaStart, h SagaHandlerFunc[S, M]) SagaStep[S] {
	return newSagaStep(r.route, false, field, start, h)
}

// SagaEvent has a saga handle the events on route r with h, subscribing
// the saga's endpoint to them. field is the event's field holding the
// correlation value; start says what the event does when no instance has
// it.
func SagaEvent[S, M proto.Message](r *EventRoute[M], field protoreflect.Name, start SagaStart, h SagaHandlerFunc[S, M]) SagaStep[S] {
	return newSagaStep(r.route, false, field, start, h)
}

// SagaTimeout has a saga handle its timeouts of type M with h: plain
// messages that [SagaContext.RequestTimeout] schedules to the saga's own
// endpoint, delivered to the instance that requested them, and dropped
// once it completed.
func SagaTimeout[S, M proto.Message](h SagaHandlerFunc[S, M]) SagaStep[S] {
	var zero M
	typ := string(zero.ProtoReflect().Descriptor().FullName())
	return newSagaStep(Route{Type: typ, Kind: KindCommand, Subject: typ}, true, "", SagaStart{}, h)
}

func newSagaStep[S, M proto.Message](r Route, timeout bool, field protoreflect.Name, start SagaStart, h SagaHandlerFunc[S, M]) SagaStep[S] {
	var zero M
	mt := zero.ProtoReflect().Type()
	step := &sagaStep[S]{route: r, timeout: timeout, start: start, msgType: mt}
	if h == nil {
		return SagaStep[S]{err: invalidf("the saga handler for %s is nil", r.Type)}
	}
	step.handle = func(ctx context.Context, sc *SagaContext[S], msg proto.Message) error {
		m, ok := msg.(M)
		if !ok {
			return Unrecoverable(fmt.Errorf("gobus: middleware handed the saga's %s handler a %s", r.Type, msg.ProtoReflect().Descriptor().FullName()))
		}
		return h(ctx, sc, m)
	}
	if !timeout {
		fd := mt.Descriptor().Fields().ByName(field)
		if fd == nil {
			return SagaStep[S]{err: invalidf("%s has no field %q to correlate it to a saga instance", r.Type, field)}
		}
		step.field = fd
	}
	return SagaStep[S]{step: step}
}

// NewSaga returns the saga whose state is an S, called name (the state's
// proto full name, which names its bucket), whose instances are told
// apart by the state's field correlation, and which handles the messages
// of steps. The generated NewXSaga functions call it, after the
// generator checked the definition; a mistake found here is returned by
// [RegisterSaga] and [Saga.Apply].
func NewSaga[S proto.Message](name string, correlation protoreflect.Name, steps ...SagaStep[S]) *Saga[S] {
	var zero S
	st := zero.ProtoReflect().Type()
	s := &Saga[S]{name: name, stateType: st, steps: map[string]*sagaStep[S]{}}
	var errs []error
	if name != string(st.Descriptor().FullName()) {
		errs = append(errs, invalidf("saga %q: its name must be its state's full name, %s", name, st.Descriptor().FullName()))
	}
	s.correlation = st.Descriptor().Fields().ByName(correlation)
	switch {
	case s.correlation == nil:
		errs = append(errs, invalidf("saga %s: its state has no field %q to correlate messages by", name, correlation))
	case !correlatable(s.correlation):
		errs = append(errs, invalidf("saga %s: its correlation field %s is a %s: use a singular string or integer field", name, correlation, kindOf(s.correlation)))
	}
	starts := false
	for _, st := range steps {
		if st.err != nil {
			errs = append(errs, fmt.Errorf("saga %s: %w", name, st.err))
			continue
		}
		step := st.step
		if _, dup := s.steps[step.route.Type]; dup {
			errs = append(errs, invalidf("saga %s handles %s twice", name, step.route.Type))
			continue
		}
		if !step.timeout && s.correlation != nil && !sameKind(step.field, s.correlation) {
			errs = append(errs, invalidf("saga %s: %s.%s is a %s, but the state's %s is a %s", name, step.route.Type, step.field.Name(), kindOf(step.field), correlation, kindOf(s.correlation)))
		}
		starts = starts || step.start.starts
		s.steps[step.route.Type] = step
	}
	if !starts {
		errs = append(errs, invalidf("saga %s: no message starts it: mark one with gobus.SagaStarts()", name))
	}
	s.err = errors.Join(errs...)
	return s
}

// Name returns the saga's name: its state's proto full name.
func (s *Saga[S]) Name() string { return s.name }

// IsTimeout reports whether messageType is one of the saga's timeouts.
func (s *Saga[S]) IsTimeout(messageType string) bool {
	step := s.steps[messageType]
	return step != nil && step.timeout
}

// Key returns the correlation value msg belongs to, as the instance's key
// in the saga's bucket holds it (before escaping). Timeouts have no key of
// their own: they go to the instance that requested them.
func (s *Saga[S]) Key(msg proto.Message) (string, error) {
	step, err := s.stepFor(msg)
	if err != nil {
		return "", err
	}
	if step.timeout {
		return "", invalidf("%s is a timeout of saga %s: it goes to the instance that requested it", step.route.Type, s.name)
	}
	return correlationValue(msg.ProtoReflect(), step.field)
}

func (s *Saga[S]) stepFor(msg proto.Message) (*sagaStep[S], error) {
	if s.err != nil {
		return nil, s.err
	}
	typ := string(msg.ProtoReflect().Descriptor().FullName())
	step := s.steps[typ]
	if step == nil {
		return nil, Unrecoverable(fmt.Errorf("gobus: saga %s does not handle %s", s.name, typ))
	}
	return step, nil
}

// correlationValue is the correlation value in field fd of m, as a
// string: an empty string is refused, as no instance can be found by it.
func correlationValue(m protoreflect.Message, fd protoreflect.FieldDescriptor) (string, error) {
	v := m.Get(fd)
	var s string
	switch fd.Kind() {
	case protoreflect.StringKind:
		s = v.String()
	case protoreflect.BoolKind:
		s = strconv.FormatBool(v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		s = strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		s = strconv.FormatUint(v.Uint(), 10)
	default:
		return "", Unrecoverable(fmt.Errorf("gobus: %s is a %s, which cannot correlate a saga", fd.FullName(), kindOf(fd)))
	}
	if s == "" {
		return "", Unrecoverable(fmt.Errorf("gobus: %s is empty: no saga instance can be found by it", fd.FullName()))
	}
	return s, nil
}

// correlatable reports whether fd can hold a correlation value.
func correlatable(fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() || fd.IsMap() || fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic() {
		return false
	}
	switch fd.Kind() {
	case protoreflect.StringKind,
		protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// sameKind reports whether a and b hold values of the same Go type, so
// that one can be set from the other.
func sameKind(a, b protoreflect.FieldDescriptor) bool {
	return correlatable(a) && correlatable(b) && goKind(a) == goKind(b)
}

func goKind(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "uint32"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "uint64"
	}
	return fd.Kind().String()
}

func kindOf(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return "map"
	case fd.IsList():
		return "repeated " + fd.Kind().String()
	case fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic():
		return fd.Kind().String() + " in a oneof"
	}
	return fd.Kind().String()
}
