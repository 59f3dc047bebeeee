package errorstream

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"
)

// Stream is the error stream of one gobus environment.
type Stream struct {
	js     jetstream.JetStream
	names  topology.Names
	stream jetstream.Stream
}

// New returns the error stream st of the environment names, publishing
// retried messages through js.
func New(js jetstream.JetStream, names topology.Names, st jetstream.Stream) *Stream {
	return &Stream{js: js, names: names, stream: st}
}

// UnknownIDError is an id that is not in the error stream.
type UnknownIDError struct{ ID uint64 }

func (e *UnknownIDError) Error() string {
	return "no failed message with id " + strconv.FormatUint(e.ID, 10) + " (gobus errors list shows the ids)"
}

// Find returns the failed messages s chooses, in id order. Ids are looked
// up directly, and an id not in the stream is an [*UnknownIDError];
// filters scan the stream, or the endpoint's subject of it.
func (s *Stream) Find(ctx context.Context, sel Selector) ([]*Message, error) {
	if len(sel.IDs) > 0 {
		return s.byID(ctx, sel)
	}
	filter := s.names.ErrorSubjects()
	if sel.Endpoint != "" {
		filter = s.names.ErrorSubject(sel.Endpoint)
	}
	var out []*Message
	err := s.Scan(ctx, filter, func(m *Message) {
		if sel.Matches(m) {
			out = append(out, m)
		}
	})
	return out, err
}

func (s *Stream) byID(ctx context.Context, sel Selector) ([]*Message, error) {
	ids := slices.Clone(sel.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []*Message
	for _, id := range ids {
		raw, err := s.stream.GetMsg(ctx, id)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, &UnknownIDError{ID: id}
		}
		if err != nil {
			return nil, err
		}
		m := NewMessage(id, raw.Header, raw.Data)
		if sel.Matches(m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Scan calls fn for every message on filter in the stream, oldest first,
// reading it with an ordered consumer. An empty filter is every endpoint's.
func (s *Stream) Scan(ctx context.Context, filter string, fn func(*Message)) error {
	if filter == "" {
		filter = s.names.ErrorSubjects()
	}
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return err
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return err
	}
	var seen uint64
	for seen < total {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for raw := range batch.Messages() {
			got++
			meta, err := raw.Metadata()
			if err != nil {
				return err
			}
			fn(NewMessage(meta.Sequence.Stream, raw.Headers(), raw.Data()))
			seen++
			if meta.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if got == 0 {
			return nil // deleted while we read
		}
	}
	return nil
}

// Counts returns how many messages wait in the error stream per endpoint.
func (s *Stream) Counts(ctx context.Context) (map[string]uint64, error) {
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(s.names.ErrorSubjects()))
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	prefix := s.names.ErrorSubject("")
	for subject, n := range info.State.Subjects {
		out[subject[len(prefix):]] = n
	}
	return out, nil
}
