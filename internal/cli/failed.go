package cli

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/errorstream"
)

// failed is one message in the error stream, as the CLI shows it.
type failed = errorstream.Message

// selector chooses failed messages by id or by what they are.
type selector struct {
	ids      []uint64
	all      bool
	endpoint string
	typ      string
	contains string
}

func (s selector) empty() bool {
	return len(s.ids) == 0 && !s.all && s.endpoint == "" && s.typ == "" && s.contains == ""
}

func (s selector) shared() errorstream.Selector {
	return errorstream.Selector{IDs: s.ids, Endpoint: s.endpoint, Type: s.typ, Contains: s.contains}
}

// errorStream is the shared operations on the session's error stream st.
func (sess *session) errorStream(st jetstream.Stream) *errorstream.Stream {
	return errorstream.New(sess.js, sess.names, st)
}

// find returns the failed messages s selects, in id order.
func (sess *session) find(ctx context.Context, st jetstream.Stream, s selector) ([]*failed, error) {
	return sess.errorStream(st).Find(ctx, s.shared())
}

// byID returns the failed messages with s's ids that match the rest of s.
func (sess *session) byID(ctx context.Context, st jetstream.Stream, s selector) ([]*failed, error) {
	return sess.errorStream(st).Find(ctx, s.shared())
}
