package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// endpointStatus is one row of gobus status.
type endpointStatus struct {
	Endpoint    string `json:"endpoint"`
	Pending     uint64 `json:"pending"`
	InFlight    int    `json:"in_flight"`
	Redelivered int    `json:"redelivered"`
	Failed      uint64 `json:"failed"`
	Consumers   int    `json:"consumers"`
}

func newStatusCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each endpoint's pending, in-flight, redelivered and failed messages",
		Long: `status lists every endpoint that has a queue on the server, with the
messages waiting for it (pending), handed out and not yet acknowledged (in
flight), delivered more than once and not yet acknowledged (redelivered),
and in the error stream (failed). Pending and in flight add up its queue
and its event subscription. A second table counts each saga's running and
completed instances (gobus sagas list shows them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withSession(cmd.Context(), func(ctx context.Context, sess *session) error {
				rows, err := sess.status(ctx)
				if err != nil {
					return err
				}
				if o.jsonOut {
					return printJSON(o.out, rows)
				}
				t := newTable(o.out, "ENDPOINT", "PENDING", "IN FLIGHT", "REDELIVERED", "FAILED")
				for _, r := range rows {
					t.row(r.Endpoint, r.Pending, r.InFlight, r.Redelivered, r.Failed)
				}
				if err := t.flush(); err != nil {
					return err
				}
				counts, err := sess.sagaCounts(ctx)
				if err != nil || len(counts) == 0 {
					return err
				}
				fmt.Fprintln(o.out)
				return printSagaCounts(o, counts)
			})
		},
	}
}

// status gathers one row per endpoint from its consumers and the error
// stream.
func (s *session) status(ctx context.Context) ([]endpointStatus, error) {
	errs, err := s.errorsStream(ctx)
	if err != nil {
		return nil, err
	}
	info, err := errs.Info(ctx, jetstream.WithSubjectFilter(s.names.ErrorSubjects()))
	if err != nil {
		return nil, err
	}
	rows := map[string]*endpointStatus{}
	row := func(endpoint string) *endpointStatus {
		if rows[endpoint] == nil {
			rows[endpoint] = &endpointStatus{Endpoint: endpoint}
		}
		return rows[endpoint]
	}
	for subject, n := range info.State.Subjects {
		row(strings.TrimPrefix(subject, s.names.ErrorSubject(""))).Failed = n
	}
	queuePrefix := s.names.QueueStream("")
	names := s.js.StreamNames(ctx)
	for name := range names.Name() {
		if !strings.HasPrefix(name, queuePrefix) {
			continue
		}
		endpoint := strings.TrimPrefix(name, queuePrefix)
		r := row(endpoint)
		if err := s.addConsumer(ctx, r, name, endpoint); err != nil {
			return nil, err
		}
		if err := s.addConsumer(ctx, r, s.names.EventsStream(), endpoint); err != nil {
			return nil, err
		}
	}
	if err := names.Err(); err != nil {
		return nil, err
	}
	out := make([]endpointStatus, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out, nil
}

// addConsumer adds the endpoint's consumer on stream, if it exists, to r.
func (s *session) addConsumer(ctx context.Context, r *endpointStatus, stream, endpoint string) error {
	c, err := s.js.Consumer(ctx, stream, s.names.Consumer(endpoint))
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	info := c.CachedInfo()
	r.Pending += info.NumPending
	r.InFlight += info.NumAckPending
	r.Redelivered += info.NumRedelivered
	r.Consumers++
	return nil
}
