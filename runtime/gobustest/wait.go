package gobustest

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// WaitHandled waits until an endpoint handled a message of type M that
// matches every match function, and returns it; it fails the test, saying
// what the bus saw, if none did within the bus's timeout. Every Wait
// function looks at everything since the bus started, so it returns at
// once for what already happened.
func WaitHandled[M proto.Message](t testing.TB, b *Bus, match ...func(M) bool) M {
	t.Helper()
	return waitFor(t, b, WhatHandled, "", match).Message.(M)
}

// WaitHandledBy waits, as [WaitHandled] does, until the endpoint named
// endpoint handled a message of type M that matches.
func WaitHandledBy[M proto.Message](t testing.TB, b *Bus, endpoint string, match ...func(M) bool) M {
	t.Helper()
	return waitFor(t, b, WhatHandled, endpoint, match).Message.(M)
}

// WaitSent waits, as [WaitHandled] does, until a command of type M that
// matches was stored: sent by the client, or by a handler that succeeded.
func WaitSent[M proto.Message](t testing.TB, b *Bus, match ...func(M) bool) M {
	t.Helper()
	return waitFor(t, b, WhatSent, "", match).Message.(M)
}

// WaitPublished waits, as [WaitHandled] does, until an event of type M
// that matches was stored: published by the client, or by a handler that
// succeeded.
func WaitPublished[M proto.Message](t testing.TB, b *Bus, match ...func(M) bool) M {
	t.Helper()
	return waitFor(t, b, WhatPublished, "", match).Message.(M)
}

// Failure is a message moved to the error stream.
type Failure[M proto.Message] struct {
	// Message is the message.
	Message M
	// Endpoint is the endpoint that failed it.
	Endpoint string
	// Kind is its error kind (gobus-error-kind), such as "handler" or
	// "unrecoverable".
	Kind string
	// Error is the error text (gobus-error-message).
	Error string
}

// WaitFailed waits, as [WaitHandled] does, until a message of type M that
// matches was moved to the error stream, and returns it with why.
func WaitFailed[M proto.Message](t testing.TB, b *Bus, match ...func(M) bool) Failure[M] {
	t.Helper()
	e := waitFor(t, b, WhatFailed, "", match)
	return Failure[M]{Message: e.Message.(M), Endpoint: e.Endpoint, Kind: e.ErrorKind, Error: e.Error}
}

// Events returns everything the bus saw so far, in order.
func (b *Bus) Events() []Event {
	events, _ := b.rec.snapshot()
	return events
}

func waitFor[M proto.Message](t testing.TB, b *Bus, what What, endpoint string, match []func(M) bool) Event {
	t.Helper()
	deadline := time.NewTimer(b.Timeout)
	defer deadline.Stop()
	for {
		events, changed := b.rec.snapshot()
		for _, e := range events {
			if e.What == what && (endpoint == "" || e.Endpoint == endpoint) && matches(e.Message, match) {
				return e
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			at := ""
			if endpoint != "" {
				at = " at " + endpoint
			}
			filter := ""
			if len(match) > 0 {
				filter = " that matches"
			}
			t.Fatalf("gobustest: waited %v for a %s %s%s%s; the bus saw:\n%s", b.Timeout, what, typeName[M](), filter, at, describeEvents(events))
			return Event{}
		}
	}
}

func matches[M proto.Message](msg proto.Message, match []func(M) bool) bool {
	m, ok := msg.(M)
	if !ok {
		return false
	}
	for _, f := range match {
		if !f(m) {
			return false
		}
	}
	return true
}
