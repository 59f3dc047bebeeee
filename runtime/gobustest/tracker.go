package gobustest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	gobus "github.com/gobusdev/gobus/runtime"
)

// What is what the bus saw happen to a message.
type What int

const (
	// WhatHandled is a message an endpoint's handler handled: it returned
	// nil and what it sent was stored.
	WhatHandled What = iota + 1
	// WhatSent is a command stored in JetStream (held back, if
	// DeliverAt is set).
	WhatSent
	// WhatPublished is an event stored in JetStream.
	WhatPublished
	// WhatReplied is a reply stored or handed to a waiting request.
	WhatReplied
	// WhatFailed is a message moved to the error stream.
	WhatFailed
)

// String returns "handled", "sent", "published", "replied" or "failed".
func (w What) String() string {
	switch w {
	case WhatHandled:
		return "handled"
	case WhatSent:
		return "sent"
	case WhatPublished:
		return "published"
	case WhatReplied:
		return "replied"
	case WhatFailed:
		return "failed"
	}
	return fmt.Sprintf("What(%d)", int(w))
}

// Event is one thing the bus saw.
type Event struct {
	// What happened.
	What What
	// Type is the message's type, its proto full name.
	Type string
	// Message is the message; nil for a failed message whose body does
	// not decode or whose type this program does not know.
	Message proto.Message
	// ID is its ce-id.
	ID string
	// Endpoint is the endpoint that handled or failed it, or sent it from
	// a handler; "" for what the client sent.
	Endpoint string
	// DeliverAt is when a held-back message is due.
	DeliverAt time.Time
	// ErrorKind and Error say why a failed message failed, as the error
	// stream's gobus-error-kind and gobus-error-message do.
	ErrorKind, Error string
}

func (e Event) String() string {
	s := e.What.String() + " " + e.Type
	if e.Message != nil {
		s = e.What.String() + " " + describe(e.Message)
	}
	if e.Endpoint != "" {
		s += " at " + e.Endpoint
	}
	if !e.DeliverAt.IsZero() {
		s += fmt.Sprintf(" held back until %s", e.DeliverAt.Format(time.RFC3339Nano))
	}
	if e.What == WhatFailed {
		s += fmt.Sprintf(" (%s: %s)", e.ErrorKind, e.Error)
	}
	return s
}

// tracker keeps the events, and wakes the waiters at each one.
type tracker struct {
	mu      sync.Mutex
	events  []Event
	changed chan struct{}
}

func newTracker() *tracker { return &tracker{changed: make(chan struct{})} }

func (r *tracker) add(events ...Event) {
	if len(events) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
	close(r.changed)
	r.changed = make(chan struct{})
}

// snapshot returns the events so far, and a channel closed at the next.
func (r *tracker) snapshot() ([]Event, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[:len(r.events):len(r.events)], r.changed
}

// handledKey carries, in a handler's context, the messages it dispatched,
// which count as stored once the handling succeeded.
type handledKey struct{}

type pending struct {
	mu     sync.Mutex
	events []Event
}

// handling is the bus's handling middleware: it records the message as
// handled, and what its handler sent as stored, once the handling
// succeeded (the runtime stored what the handler sent before it returns).
func (r *tracker) handling(next gobus.Handler) gobus.Handler {
	return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
		p := &pending{}
		err := next(context.WithValue(ctx, handledKey{}, p), mc, msg)
		if err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for i := range p.events {
			p.events[i].Endpoint = mc.Endpoint()
		}
		r.add(append([]Event{{What: WhatHandled, Type: mc.Type(), Message: msg, ID: mc.ID(), Endpoint: mc.Endpoint()}}, p.events...)...)
		return nil
	}
}

// dispatch is the bus's dispatch middleware: what a client sends is
// stored when next returns; what a handler sends, when its handling
// succeeds.
func (r *tracker) dispatch(next gobus.DispatchFunc) gobus.DispatchFunc {
	return func(ctx context.Context, m *gobus.OutgoingMessage) error {
		if err := next(ctx, m); err != nil {
			return err
		}
		e := Event{What: whatOf(m.Route.Kind), Type: m.Route.Type, Message: m.Message, ID: m.ID, DeliverAt: m.DeliverAt()}
		if p, ok := ctx.Value(handledKey{}).(*pending); ok {
			p.mu.Lock()
			p.events = append(p.events, e)
			p.mu.Unlock()
			return nil
		}
		r.add(e)
		return nil
	}
}

func whatOf(k gobus.Kind) What {
	switch k {
	case gobus.KindEvent:
		return WhatPublished
	case gobus.KindReply:
		return WhatReplied
	}
	return WhatSent
}

// describeEvents lists events for a failure message, the last 50.
func describeEvents(events []Event) string {
	if len(events) == 0 {
		return "  (nothing)"
	}
	var b strings.Builder
	if len(events) > 50 {
		fmt.Fprintf(&b, "  ... %d earlier\n", len(events)-50)
		events = events[len(events)-50:]
	}
	for i, e := range events {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  " + e.String())
	}
	return b.String()
}
