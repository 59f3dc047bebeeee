package gobus

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/wire"
)

// ReplyTarget is where [Request] decodes a reply of one type; [Into]
// makes one.
type ReplyTarget interface {
	replyType() string
	decode(env *wire.Envelope) error
}

type replyTarget[R proto.Message] struct {
	r   *ReplyRoute[R]
	dst *R
}

func (t replyTarget[R]) replyType() string { return t.r.typ }

func (t replyTarget[R]) decode(env *wire.Envelope) error {
	var zero R
	msg := zero.ProtoReflect().Type().New().Interface().(R)
	if err := decode(env.Data, env.ContentType, msg); err != nil {
		return &decodeError{typ: t.r.typ, contentType: env.ContentType, reason: env.ContentTypeReason(), err: err}
	}
	*t.dst = msg
	return nil
}

// Into decodes a reply of type R into *dst, for [Request].
func Into[R proto.Message](r *ReplyRoute[R], dst *R) ReplyTarget {
	return replyTarget[R]{r: r, dst: dst}
}

// Request sends the command cmd along route r from c and waits for its
// reply on c's own reply subject until ctx ends, then decodes it into the
// target of its type. When ctx ends first it returns ctx's error, such as
// [context.DeadlineExceeded], and a reply that comes later is dropped with
// a debug log: nothing of the request is left behind but the command,
// which the endpoint still handles. The generated RequestX functions call
// it.
func Request[C proto.Message](ctx context.Context, c *Client, r *CommandRoute[C], cmd C, into []ReplyTarget, opts ...SendOption) error {
	if err := c.usable(); err != nil {
		return err
	}
	subject, wait, cancel, err := c.requests.open(c)
	if err != nil {
		return err
	}
	defer cancel()
	out := Outgoing{Route: r.route, Message: cmd}
	for _, o := range opts {
		o.applySend(&out)
	}
	out.heldBack()
	out.replyTo = subject
	if err := c.Dispatch(ctx, out); err != nil {
		return err
	}
	select {
	case msg := <-wait:
		return decodeReply(r.route.Type, msg, into)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decodeReply decodes msg into the target of its type.
func decodeReply(command string, msg *nats.Msg, into []ReplyTarget) error {
	env, err := wire.Parse(msg.Header, msg.Data)
	if err != nil {
		return fmt.Errorf("gobus: the reply to %s: %w", command, err)
	}
	for _, t := range into {
		if t.replyType() == env.Type {
			if err := t.decode(env); err != nil {
				return fmt.Errorf("gobus: the reply to %s: %w", command, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: the reply to %s is a %s, which the command does not declare", ErrNoRoute, command, wire.Quote(env.Type))
}

// requests routes the replies a client's requests wait for: one
// subscription on the client's inbox, one waiting channel per request.
type requests struct {
	mu      sync.Mutex
	prefix  string
	sub     *nats.Subscription
	waiting map[string]chan *nats.Msg
	next    uint64
}

// open subscribes c's inbox the first time, and returns the reply subject
// of one request, the channel its reply arrives on, and the function that
// forgets it.
func (q *requests) open(c *Client) (string, <-chan *nats.Msg, func(), error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.sub == nil {
		prefix := c.nc.NewInbox()
		sub, err := c.nc.Subscribe(prefix+".*", func(m *nats.Msg) { q.deliver(c, m) })
		if err != nil {
			return "", nil, nil, fmt.Errorf("gobus: subscribing to the client's reply subject: %w", err)
		}
		q.prefix, q.sub, q.waiting = prefix, sub, map[string]chan *nats.Msg{}
	}
	q.next++
	token := fmt.Sprintf("%d", q.next)
	ch := make(chan *nats.Msg, 1)
	q.waiting[token] = ch
	cancel := func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.waiting, token)
	}
	return q.prefix + "." + token, ch, cancel, nil
}

// deliver hands a reply to its waiting request, or drops it.
func (q *requests) deliver(c *Client, m *nats.Msg) {
	token := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	q.mu.Lock()
	ch, ok := q.waiting[token]
	if ok {
		delete(q.waiting, token)
	}
	q.mu.Unlock()
	if !ok {
		c.cfg.logger.Debug("gobus: dropped a reply that came after its request gave up", "subject", m.Subject,
			"type", m.Header.Get(wire.HeaderType), "id", m.Header.Get(wire.HeaderID))
		return
	}
	ch <- m
}
