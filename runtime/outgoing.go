package gobus

import (
	"context"
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

// storeOutgoing is the innermost link of every dispatch chain: it checks
// the message's size, with whatever headers middleware added, and hands it
// to its sink.
func storeOutgoing(ctx context.Context, m *OutgoingMessage) error {
	if err := m.client.checkSize(m.Msg, m.Route); err != nil {
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

// publish publishes the collected messages, pipelined, and returns once
// JetStream stored all of them.
func (h *handlerOutput) publish(ctx context.Context, js jetstream.JetStream) error {
	futures := make([]jetstream.PubAckFuture, 0, len(h.msgs))
	for _, m := range h.msgs {
		f, err := js.PublishMsgAsync(m.Msg)
		if err != nil {
			return fmt.Errorf("gobus: %s %s: %w", verb(m.Route.Kind), m.Route.Type, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			m := h.msgs[i]
			return fmt.Errorf("gobus: %s %s: %w", verb(m.Route.Kind), m.Route.Type, err)
		case <-ctx.Done():
			return fmt.Errorf("gobus: waiting for JetStream to store %d outgoing messages: %w", len(futures)-i, ctx.Err())
		}
	}
	return nil
}

// newOutgoing is the dispatch chain's view of msg, bound for s.
func (c *Client) newOutgoing(out Outgoing, id string, msg *nats.Msg, s sink) *OutgoingMessage {
	return &OutgoingMessage{Outgoing: out, ID: id, Msg: msg, client: c, sink: s}
}
