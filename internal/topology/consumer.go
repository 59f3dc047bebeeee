package topology

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureConsumer creates the durable consumer cfg describes on stream, or
// brings an existing one in line with it.
//
// A new consumer gets no replica count of its own: it has as many replicas
// as its stream, now and if an operator changes the stream's. An existing
// one keeps its replicas, its deliver policy and every setting cfg does
// not set; the settings the endpoint's code and options decide
// (description, filter subjects, ack policy, ack wait, max ack pending,
// max deliver) are updated. A replica count of its own that differs from
// the options' is reported as [Installer.report] says.
func (in *Installer) ensureConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := in.JS.Consumer(ctx, stream, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return in.putConsumer(ctx, stream, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up consumer %s on stream %s: %w", cfg.Durable, stream, err)
	}
	existing := c.CachedInfo().Config
	if r := existing.Replicas; r != 0 && r != in.Settings.Replicas {
		diffs := []Difference{{"replicas", r, in.Settings.Replicas}}
		if err := in.report("consumer", cfg.Durable, stream, diffs); err != nil {
			return nil, err
		}
	}
	wanted := withEndpointSettings(existing, cfg)
	if sameEndpointSettings(existing, wanted) {
		return c, nil
	}
	return in.putConsumer(ctx, stream, wanted)
}

func (in *Installer) putConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := in.JS.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// withEndpointSettings is existing with the settings the endpoint decides
// taken from cfg.
func withEndpointSettings(existing, cfg jetstream.ConsumerConfig) jetstream.ConsumerConfig {
	out := existing
	out.Description = cfg.Description
	out.FilterSubject = cfg.FilterSubject
	out.FilterSubjects = cfg.FilterSubjects
	out.AckPolicy = cfg.AckPolicy
	out.AckWait = cfg.AckWait
	out.MaxAckPending = cfg.MaxAckPending
	out.MaxDeliver = cfg.MaxDeliver
	return out
}

// sameEndpointSettings reports whether a and b agree on the settings the
// endpoint decides.
func sameEndpointSettings(a, b jetstream.ConsumerConfig) bool {
	return a.Description == b.Description && a.FilterSubject == b.FilterSubject &&
		slices.Equal(a.FilterSubjects, b.FilterSubjects) && a.AckPolicy == b.AckPolicy &&
		a.AckWait == b.AckWait && a.MaxAckPending == b.MaxAckPending && a.MaxDeliver == b.MaxDeliver
}
