package gobus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
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

	mu       sync.Mutex
	inflight []pending
	results  []Result
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

type pending struct {
	id, typ string
	future  jetstream.PubAckFuture
}

// NewBatch returns a batch that keeps up to window messages in flight; 0
// means [DefaultBatchWindow].
func (c *Client) NewBatch(window int) *Batch {
	if window <= 0 {
		window = DefaultBatchWindow
	}
	return &Batch{c: c, window: window}
}

// Dispatch publishes out without waiting for its acknowledgement. When the
// window is full it first waits for the oldest message in flight, or for
// ctx. An error means the batch did not take the message, such as
// [ErrTooLarge] for a message larger than the server's max payload;
// failures after that are reported by Wait.
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
	for len(b.inflight) >= b.window {
		if err := b.settleOldest(ctx); err != nil {
			return err
		}
	}
	f, err := b.c.js.PublishMsgAsync(m.Msg)
	if err != nil {
		return fmt.Errorf("gobus: %s %s: %w", verb(m.Route.Kind), m.Route.Type, err)
	}
	b.inflight = append(b.inflight, pending{id: m.ID, typ: m.Route.Type, future: f})
	return nil
}

// settleOldest waits for the oldest message in flight and records its
// outcome. b.mu is held.
func (b *Batch) settleOldest(ctx context.Context) error {
	p := b.inflight[0]
	var err error
	var duplicate bool
	select {
	case ack := <-p.future.Ok():
		duplicate = ack != nil && ack.Duplicate
	case err = <-p.future.Err():
	case <-ctx.Done():
		return ctx.Err()
	}
	b.inflight = b.inflight[1:]
	if err != nil {
		err = fmt.Errorf("gobus: sending %s %s: %w", p.typ, p.id, err)
	}
	b.results = append(b.results, Result{MessageID: p.id, Type: p.typ, Err: err, Duplicate: duplicate})
	return nil
}

// Wait waits until every message dispatched so far is stored or failed,
// and returns their outcomes in dispatch order. The error joins the
// failures; it is ctx's error if ctx ends first, and the messages still
// in flight are then reported by the next Wait.
func (b *Batch) Wait(ctx context.Context) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.inflight) > 0 {
		if err := b.settleOldest(ctx); err != nil {
			return nil, err
		}
	}
	results := b.results
	b.results = nil
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}
