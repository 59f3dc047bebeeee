package ui

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"
)

// EndpointStats is what the server says of one endpoint at one moment.
type EndpointStats struct {
	Endpoint string
	// Pending is the queue depth: messages waiting for the endpoint in
	// its queue and its event subscription (consumers' NumPending).
	Pending uint64
	// InFlight is messages handed out and not yet acknowledged
	// (NumAckPending).
	InFlight int
	// Redelivered is messages delivered more than once and not yet
	// acknowledged (NumRedelivered).
	Redelivered int
	// Failed is the endpoint's messages in the error stream.
	Failed uint64
	// Settled is the sum of the consumers' ack floors: deliveries
	// acknowledged or terminated so far, whose change over time is the
	// handling rate.
	Settled uint64
	// Listening is the pull requests waiting on its consumers: instances
	// idle and ready for work.
	Listening int
	// Consumers is how many of the queue and event consumers exist.
	Consumers int
}

// collect reads every endpoint's consumers and the error stream's
// per-endpoint counts. An endpoint is a queue stream under the prefix, or
// an endpoint with failed messages.
func collect(ctx context.Context, js jetstream.JetStream, names topology.Names) ([]EndpointStats, error) {
	rows := map[string]*EndpointStats{}
	row := func(endpoint string) *EndpointStats {
		if rows[endpoint] == nil {
			rows[endpoint] = &EndpointStats{Endpoint: endpoint}
		}
		return rows[endpoint]
	}
	if err := addFailed(ctx, js, names, row); err != nil {
		return nil, err
	}
	queuePrefix := names.QueueStream("")
	list := js.StreamNames(ctx)
	var streams []string
	for name := range list.Name() {
		if strings.HasPrefix(name, queuePrefix) {
			streams = append(streams, name)
		}
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	for _, name := range streams {
		endpoint := strings.TrimPrefix(name, queuePrefix)
		r := row(endpoint)
		if err := addQueueConsumers(ctx, js, r, name); err != nil {
			return nil, err
		}
		if err := addConsumer(ctx, js, r, names.EventsStream(), names.Consumer(endpoint)); err != nil {
			return nil, err
		}
	}
	out := make([]EndpointStats, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out, nil
}

func addFailed(ctx context.Context, js jetstream.JetStream, names topology.Names, row func(string) *EndpointStats) error {
	st, err := js.Stream(ctx, names.ErrorsStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(names.ErrorSubjects()))
	if err != nil {
		return err
	}
	for subject, n := range info.State.Subjects {
		row(strings.TrimPrefix(subject, names.ErrorSubject(""))).Failed = n
	}
	return nil
}

func addConsumer(ctx context.Context, js jetstream.JetStream, r *EndpointStats, stream, consumer string) error {
	c, err := js.Consumer(ctx, stream, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	addInfo(r, c.CachedInfo())
	return nil
}

func addInfo(r *EndpointStats, info *jetstream.ConsumerInfo) {
	r.Pending += info.NumPending
	r.InFlight += info.NumAckPending
	r.Redelivered += info.NumRedelivered
	r.Settled += info.AckFloor.Consumer
	r.Listening += info.NumWaiting
	r.Consumers++
}

// addQueueConsumers adds every consumer of the endpoint's queue stream to
// r: its queue consumer and, for ordered messages, its partitions'.
func addQueueConsumers(ctx context.Context, js jetstream.JetStream, r *EndpointStats, stream string) error {
	st, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	list := st.ListConsumers(ctx)
	for info := range list.Info() {
		addInfo(r, info)
	}
	return list.Err()
}
