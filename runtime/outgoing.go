package gobus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// sink stores outgoing messages that went through the dispatch chain: a
// client at once, a batch pipelined, a handler's context after it
// succeeded.
type sink interface {
	store(ctx context.Context, m *OutgoingMessage) error
}

// storeOutgoing is the innermost link of every dispatch chain: it turns a
// held-back message into its schedule (so that middleware saw the message
// as its target receives it), checks the message's size, with whatever
// headers middleware added, and hands it to its sink.
func storeOutgoing(ctx context.Context, m *OutgoingMessage) error {
	if len(m.Msg.Data) > m.client.claims.limit {
		if err := m.claimCheck(ctx); err != nil {
			return err
		}
	}
	if err := m.Seal(); err != nil {
		return err
	}
	return m.sink.store(ctx, m)
}

// store publishes m and waits until JetStream stored it.
func (c *Client) store(ctx context.Context, m *OutgoingMessage) error {
	if _, err := c.js.PublishMsg(ctx, m.Msg); err != nil {
		return fmt.Errorf("gobus: %s %s: %w", verb(m.Route.Kind), m.Route.Type, err)
	}
	return nil
}

// handlerOutput collects a handler's outgoing messages, so that all are
// checked before any is published.
type handlerOutput struct {
	msgs []*OutgoingMessage
}

func (h *handlerOutput) store(_ context.Context, m *OutgoingMessage) error {
	h.msgs = append(h.msgs, m)
	return nil
}

// publish publishes the collected messages, pipelined through the
// client's batch publisher, and returns once JetStream stored all of them.
func (h *handlerOutput) publish(ctx context.Context, c *Client) error {
	b := c.NewBatch(max(len(h.msgs), 1))
	var stored []*OutgoingMessage // what b publishes, in order
	var direct []*OutgoingMessage // replies to waiting requests
	for _, m := range h.msgs {
		if m.Route.Kind == KindReply {
			durable, err := m.client.replyDestination(m.Msg.Subject)
			if err != nil {
				m.dropReply(err.Error())
				continue
			}
			if !durable {
				direct = append(direct, m)
				continue
			}
		}
		b.mu.Lock()
		err := c.batches.publish(b, m.Msg, m.ID, m.Route.Type)
		b.mu.Unlock()
		if err != nil {
			return fmt.Errorf("gobus: %s %s: %w", verb(m.Route.Kind), m.Route.Type, err)
		}
		stored = append(stored, m)
	}
	if len(stored) > 0 {
		results, err := b.Wait(ctx)
		if ctx.Err() != nil && results == nil {
			return fmt.Errorf("gobus: waiting for JetStream to store %d outgoing messages: %w", len(stored), err)
		}
		for i, r := range results {
			if r.Err == nil {
				continue
			}
			m := stored[i]
			if m.Route.Kind == KindReply && errors.Is(r.Err, jetstream.ErrNoStreamResponse) {
				m.dropReply("no stream takes " + m.Msg.Subject + ": the requesting endpoint has never started, or its queue stream lacks its reply subject")
				continue
			}
			return r.Err
		}
	}
	// Replies to waiting requests go last, once everything else is
	// stored, on core NATS: a requester that gave up leaves nothing behind.
	for _, m := range direct {
		if err := m.client.nc.PublishMsg(m.Msg); err != nil {
			return fmt.Errorf("gobus: replying with %s: %w", m.Route.Type, err)
		}
	}
	return nil
}

// dropReply logs that the reply m is dropped, and why.
func (m *OutgoingMessage) dropReply(reason string) {
	m.client.cfg.logger.Warn("gobus: dropped a reply: its requester is unknown", "type", m.Route.Type, "id", m.ID, "reason", reason)
}

// newOutgoing is the dispatch chain's view of msg, bound for s.
func (c *Client) newOutgoing(out Outgoing, id string, msg *nats.Msg, s sink) *OutgoingMessage {
	return &OutgoingMessage{Outgoing: out, ID: id, Msg: msg, client: c, sink: s}
}
