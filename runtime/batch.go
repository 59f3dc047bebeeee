package gobus

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// DefaultBatchWindow is how many messages a [Batch] has in flight, sent
// and not yet acknowledged, unless [Client.NewBatch] says otherwise.
const DefaultBatchWindow = 256

// Batch sends many messages outside handlers without waiting for each
// acknowledgement: it pipelines publishes with a bounded window and
// reports every message's outcome from [Batch.Wait]. It is a [Dispatcher],
// so the generated SendX and PublishX functions take it:
//
//	b := client.NewBatch(0)
//	for _, o := range orders {
//		if err := salesv1.SendPlaceOrder(ctx, b, o); err != nil {
//			return err // the batch could not take it
//		}
//	}
//	results, err := b.Wait(ctx) // err joins every message that failed
//
// A Batch is safe for concurrent use. After Wait, it can be used again.
type Batch struct {
	c      *Client
	window int
	// settled has a token when a message's outcome arrived since a
	// waiter last looked.
	settled chan struct{}

	// mu serialises Dispatch's store and Wait, held while they wait.
	mu sync.Mutex

	// Guarded by c.batches.mu, which the acknowledgements take too:
	results []Result // since the last Wait, in dispatch order
	unacked int      // how many of results are still in flight
}

// Result is the outcome of one message of a [Batch].
type Result struct {
	// MessageID is the message's ce-id.
	MessageID string
	// Type is the message's type (proto full name).
	Type string
	// Err is nil once JetStream stored the message.
	Err error
	// Duplicate is true when JetStream already had a message with this id
	// within its duplicate window and dropped this one: expected when a
	// send is retried with the same id (see [WithMessageID]), or when a
	// handler's retry re-sends its derived ids; otherwise it means two
	// different messages were given one id.
	Duplicate bool
}

// NewBatch returns a batch that keeps up to window messages in flight; 0
// means [DefaultBatchWindow].
func (c *Client) NewBatch(window int) *Batch {
	if window <= 0 {
		window = DefaultBatchWindow
	}
	return &Batch{c: c, window: window, settled: make(chan struct{}, 1)}
}

// Dispatch publishes out without waiting for its acknowledgement. When the
// window is full it first waits for a message in flight to be
// acknowledged, or for ctx. An error means the batch did not take the
// message, such as [ErrTooLarge] for a message larger than the server's
// max payload; failures after that are reported by Wait.
func (b *Batch) Dispatch(ctx context.Context, out Outgoing) error {
	if err := b.c.usable(); err != nil {
		return err
	}
	msg, id, err := b.c.outgoingMessage(out)
	if err != nil {
		return err
	}
	return b.c.dispatch(ctx, b.c.newOutgoing(out, id, msg, b))
}

// store publishes m without waiting for its acknowledgement, once the
// window has room: the end of the batch's dispatch chain.
func (b *Batch) store(ctx context.Context, m *OutgoingMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.waitUntil(ctx, func() bool { return b.unacked < b.window }); err != nil {
		return err
	}
	if err := b.c.batches.publish(b, m.Msg, m.ID, m.Route.Type); err != nil {
		return fmt.Errorf("gobus: %s %s: %w", verb(m.Route.Kind), m.Route.Type, err)
	}
	return nil
}

// Wait waits until every message dispatched so far is stored or failed,
// and returns their outcomes in dispatch order. The error joins the
// failures; it is ctx's error if ctx ends first, and the messages still
// in flight are then reported by the next Wait.
func (b *Batch) Wait(ctx context.Context) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var results []Result
	if err := b.waitUntil(ctx, func() bool {
		if b.unacked > 0 {
			return false
		}
		results, b.results = b.results, nil
		return true
	}); err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

// waitUntil waits until done, called with c.batches.mu held, is true, or
// until ctx ends. b.mu is held.
func (b *Batch) waitUntil(ctx context.Context, done func() bool) error {
	mu := &b.c.batches.mu
	for {
		mu.Lock()
		ok := done()
		mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-b.settled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wake tells a waiter of b that a message's outcome arrived.
func (b *Batch) wake() {
	select {
	case b.settled <- struct{}{}:
	default:
	}
}
