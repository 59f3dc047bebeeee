package gobus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// SagaContext is what a saga's handler knows about the message it handles
// and the instance it belongs to. It offers everything a
// [MessageContext] does (sends, publishes and replies are kept until the
// handler succeeds, then dispatched together), plus the instance's
// state, which the handler reads and changes directly, [SagaContext.Complete]
// and [SagaContext.RequestTimeout]. It is valid only while the handler
// runs.
type SagaContext[S proto.Message] struct {
	*MessageContext
	state      S
	instanceID string
	isNew      bool
	saga       *Saga[S]

	mu        sync.Mutex
	completed bool
	timeouts  []*string // the schedule ids of the timeouts requested, as dispatched
}

// State returns the instance's state. Change it in place: the changes are
// written once the handler succeeds. Its correlation field is the
// instance's identity and must not change.
func (sc *SagaContext[S]) State() S { return sc.state }

// IsNew reports whether this message started the instance.
func (sc *SagaContext[S]) IsNew() bool { return sc.isNew }

// InstanceID returns the id of the instance: a saga completed and started
// again for the same correlation value is another instance.
func (sc *SagaContext[S]) InstanceID() string { return sc.instanceID }

// Complete ends the instance once the handler succeeds: its state is
// deleted (a record that it completed stays a while, so that a
// redelivered message is recognised), and its pending timeouts are
// cancelled. A later message for it finds no instance.
func (sc *SagaContext[S]) Complete() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.completed = true
}

// Completed reports whether the handler called [SagaContext.Complete].
func (sc *SagaContext[S]) Completed() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.completed
}

// RequestTimeout has msg, one of the saga's timeout types, delivered to
// this instance after d, once the handler succeeds: it is a scheduled
// message (see [After]) sent to the saga's own endpoint, which survives
// restarts. A timeout whose instance completed first is cancelled, or
// dropped if it fires in the meantime.
func (sc *SagaContext[S]) RequestTimeout(ctx context.Context, d time.Duration, msg proto.Message) error {
	if msg == nil || !msg.ProtoReflect().IsValid() {
		return fmt.Errorf("gobus: saga %s: the timeout is nil", sc.saga.name)
	}
	typ := string(msg.ProtoReflect().Descriptor().FullName())
	step := sc.saga.steps[typ]
	if step == nil || !step.timeout {
		return invalidf("saga %s has no timeout %s: list it in the saga's timeouts in the contract", sc.saga.name, typ)
	}
	id := new(string)
	out := Outgoing{
		Route:     sagaTimeoutRoute(typ, sc.Endpoint()),
		Message:   msg,
		deliverAt: time.Now().Add(max(d, time.Millisecond)),
		scheduled: id,
		headers:   sagaHeaders(sc.saga.name, sc.instanceKey(), sc.instanceID),
	}
	if err := sc.MessageContext.Dispatch(ctx, out); err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.timeouts = append(sc.timeouts, id)
	return nil
}

// instanceKey is the instance's correlation value.
func (sc *SagaContext[S]) instanceKey() string {
	key, _ := correlationValue(sc.state.ProtoReflect(), sc.saga.correlation)
	return key
}

// requestedTimeouts returns the schedule ids of the timeouts requested.
func (sc *SagaContext[S]) requestedTimeouts() []string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	ids := make([]string, 0, len(sc.timeouts))
	for _, id := range sc.timeouts {
		if *id != "" {
			ids = append(ids, *id)
		}
	}
	return ids
}

// sagaTimeoutRoute is the route of a saga's timeout of type typ: a
// command to endpoint, the one hosting the saga, on a subject of the
// type's full name.
func sagaTimeoutRoute(typ, endpoint string) Route {
	return Route{Type: typ, Kind: KindCommand, Endpoint: endpoint, Subject: typ}
}
