package cli

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/wire"
)

// failed is one message in the error stream, as the CLI shows it.
type failed struct {
	ID            uint64              `json:"id"`
	Endpoint      string              `json:"endpoint"`
	Type          string              `json:"type"`
	MessageID     string              `json:"message_id"`
	Source        string              `json:"source,omitempty"`
	CorrelationID string              `json:"correlation_id,omitempty"`
	FailedAt      time.Time           `json:"failed_at"`
	Attempts      int                 `json:"attempts"`
	Kind          string              `json:"kind"`
	ErrorType     string              `json:"error_type,omitempty"`
	Error         string              `json:"error"`
	Stack         string              `json:"stack,omitempty"`
	Subject       string              `json:"original_subject"`
	Stream        string              `json:"original_stream"`
	Sequence      uint64              `json:"original_sequence"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Body          []byte              `json:"-"`
}

func newFailed(id uint64, h nats.Header, body []byte) *failed {
	get := func(k string) string { return wire.Get(h, k) }
	f := &failed{
		ID:            id,
		Endpoint:      get(wire.HeaderFailedEndpoint),
		Type:          get(wire.HeaderType),
		MessageID:     get(wire.HeaderID),
		Source:        get(wire.HeaderSource),
		CorrelationID: get(wire.HeaderCorrelationID),
		Kind:          get(wire.HeaderErrorKind),
		ErrorType:     get(wire.HeaderErrorType),
		Error:         wire.UnescapeHeaderValue(get(wire.HeaderErrorMessage)),
		Stack:         wire.UnescapeHeaderValue(get(wire.HeaderErrorStack)),
		Subject:       get(wire.HeaderFailedSubject),
		Stream:        get(wire.HeaderFailedStream),
		Headers:       h,
		Body:          body,
	}
	f.FailedAt, _ = time.Parse(time.RFC3339, get(wire.HeaderFailedAt))
	f.Attempts, _ = strconv.Atoi(get(wire.HeaderAttempts))
	f.Sequence, _ = strconv.ParseUint(get(wire.HeaderFailedSequence), 10, 64)
	return f
}

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

func (s selector) matches(f *failed) bool {
	if len(s.ids) > 0 && !containsID(s.ids, f.ID) {
		return false
	}
	return (s.endpoint == "" || f.Endpoint == s.endpoint) &&
		(s.typ == "" || f.Type == s.typ) &&
		(s.contains == "" || strings.Contains(strings.ToLower(f.Error), strings.ToLower(s.contains)))
}

func containsID(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// find returns the failed messages s selects, in id order. Ids are looked
// up directly; filters scan the stream, or the endpoint's subject of it.
func (sess *session) find(ctx context.Context, st jetstream.Stream, s selector) ([]*failed, error) {
	if len(s.ids) > 0 {
		return sess.byID(ctx, st, s)
	}
	filter := sess.names.ErrorSubjects()
	if s.endpoint != "" {
		filter = sess.names.ErrorSubject(s.endpoint)
	}
	var out []*failed
	err := scan(ctx, st, filter, func(f *failed) {
		if s.matches(f) {
			out = append(out, f)
		}
	})
	return out, err
}

func (sess *session) byID(ctx context.Context, st jetstream.Stream, s selector) ([]*failed, error) {
	ids := append([]uint64(nil), s.ids...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out []*failed
	for _, id := range ids {
		m, err := st.GetMsg(ctx, id)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, &unknownIDError{id: id}
		}
		if err != nil {
			return nil, err
		}
		f := newFailed(id, m.Header, m.Data)
		if s.matches(f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// unknownIDError is an id that is not in the error stream.
type unknownIDError struct{ id uint64 }

func (e *unknownIDError) Error() string {
	return "no failed message with id " + strconv.FormatUint(e.id, 10) + " (gobus errors list shows the ids)"
}

// scan calls fn for every message on filter in the stream, oldest first,
// reading it with an ordered consumer.
func scan(ctx context.Context, st jetstream.Stream, filter string, fn func(*failed)) error {
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
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
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
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
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			fn(newFailed(meta.Sequence.Stream, m.Headers(), m.Data()))
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
