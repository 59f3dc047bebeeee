package errorstream

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Retry sends m back to the endpoint that failed it, with its original
// headers and body and a fresh JetStream de-duplication id, and once
// JetStream stored the copy removes m from the error stream: a crash in
// between can duplicate it, never lose it. A command goes back to its
// original subject; an event goes to the failing endpoint's retry subject,
// so other subscribers do not see it twice.
func (s *Stream) Retry(ctx context.Context, m *Message) error {
	if m.Endpoint == "" || m.Subject == "" {
		return errors.New("the message has no gobus failure headers, so its endpoint is unknown")
	}
	msg := &nats.Msg{Subject: s.RetrySubject(m), Header: nats.Header{}, Data: m.Body}
	for k, vs := range m.Headers {
		if IsFailureHeader(k) || strings.HasPrefix(k, "Nats-") {
			continue
		}
		msg.Header[k] = vs
	}
	msg.Header.Set(nats.MsgIdHdr, uuid.NewString())
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("no stream takes %s: has endpoint %s been removed or renamed?", msg.Subject, m.Endpoint)
		}
		return err
	}
	return s.Delete(ctx, m)
}

// Delete removes m from the error stream for good.
func (s *Stream) Delete(ctx context.Context, m *Message) error {
	return s.stream.DeleteMsg(ctx, m.ID)
}

// RetrySubject is where a retried message goes: a command back to its
// subject, anything else to the failing endpoint's retry subject.
func (s *Stream) RetrySubject(m *Message) string {
	if strings.HasPrefix(m.Subject, s.names.CommandSubject(m.Endpoint, "")) {
		return m.Subject
	}
	return s.names.RetrySubject(m.Endpoint)
}

// Outcome is what an operation on several messages did: the ids it did
// and, per id, why it could not.
type Outcome struct {
	Done   []uint64          `json:"done"`
	Failed map[uint64]string `json:"failed,omitempty"`
}

// Apply runs op (such as [Stream.Retry] or [Stream.Delete]) on each
// message, going on past failures, and says what it did.
func Apply(ctx context.Context, found []*Message, op func(context.Context, *Message) error) Outcome {
	res := Outcome{Done: []uint64{}, Failed: map[uint64]string{}}
	for _, m := range found {
		if err := op(ctx, m); err != nil {
			res.Failed[m.ID] = err.Error()
			continue
		}
		res.Done = append(res.Done, m.ID)
	}
	return res
}
