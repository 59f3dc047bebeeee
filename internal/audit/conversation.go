package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"
)

// ErrNoStream is returned when the audit stream does not exist: no
// endpoint under the prefix has auditing on, or the installer is off and
// nobody created it.
var ErrNoStream = errors.New("gobus: no audit stream")

// Conversation returns the audit records of the conversation
// correlationID under prefix in causal order: a message's handling before
// the handlings of the messages its handler sent, and otherwise by when
// they started (see [Order]). It wraps [ErrNoStream] when the audit stream
// does not exist.
func Conversation(ctx context.Context, js jetstream.JetStream, prefix, correlationID string) ([]Record, error) {
	names := topology.Names{Prefix: prefix}
	st, err := js.Stream(ctx, names.AuditStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("%w %s: start an endpoint with gobus.WithAudit", ErrNoStream, names.AuditStream())
	}
	if err != nil {
		return nil, fmt.Errorf("gobus: looking up the audit stream %s: %w", names.AuditStream(), err)
	}
	records, err := read(ctx, st, names.ConversationSubjects(topology.ConversationToken(correlationID)))
	if err != nil {
		return nil, err
	}
	kept := records[:0]
	for _, r := range records {
		if r.CorrelationID == correlationID {
			kept = append(kept, r)
		}
	}
	return Order(kept), nil
}

// read returns the records on subjects matching filter, in stream order,
// reading each with the next-message-for-subject request: the server
// finds them by its subject index, without a consumer.
func read(ctx context.Context, st jetstream.Stream, filter string) ([]Record, error) {
	var out []Record
	for seq := uint64(1); ; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("gobus: reading the audit stream: %w", err)
		}
		r := FromHeaders(m.Header)
		r.Sequence = m.Sequence
		out = append(out, r)
		seq = m.Sequence + 1
	}
}
