package topology

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Settings are the stream settings the installer applies.
type Settings struct {
	// Replicas is the replica count of every stream (1 on a single server).
	Replicas int
	// EventsMaxAge is how long the events stream keeps an event.
	EventsMaxAge time.Duration
	// DuplicateWindow is how long JetStream remembers message ids to drop
	// duplicates.
	DuplicateWindow time.Duration
}

// Installer creates gobus streams and consumers. Every call is idempotent.
type Installer struct {
	JS       jetstream.JetStream
	Names    Names
	Settings Settings
}

// QueueStreamConfig is the configuration of endpoint's queue stream.
func (in *Installer) QueueStreamConfig(endpoint string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        in.Names.QueueStream(endpoint),
		Description: "gobus queue of endpoint " + endpoint + ": its commands and retried messages",
		Subjects:    []string{in.Names.CommandSubjects(endpoint), in.Names.RetrySubject(endpoint)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    in.Settings.Replicas,
		Duplicates:  in.Settings.DuplicateWindow,
	}
}

// EventsStreamConfig is the configuration of the events stream.
func (in *Installer) EventsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        in.Names.EventsStream(),
		Description: "gobus events",
		Subjects:    []string{in.Names.EventSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      in.Settings.EventsMaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    in.Settings.Replicas,
		Duplicates:  in.Settings.DuplicateWindow,
	}
}

// ErrorsStreamConfig is the configuration of the errors stream. It keeps
// failed messages until an operator retries or deletes them.
func (in *Installer) ErrorsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        in.Names.ErrorsStream(),
		Description: "gobus failed messages, kept until retried or deleted",
		Subjects:    []string{in.Names.ErrorSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    in.Settings.Replicas,
		Duplicates:  in.Settings.DuplicateWindow,
	}
}

// OwnQueueStream creates or updates endpoint's queue stream; only the
// endpoint itself calls it, so that its settings win.
func (in *Installer) OwnQueueStream(ctx context.Context, endpoint string) error {
	cfg := in.QueueStreamConfig(endpoint)
	if _, err := in.JS.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("creating stream %s: %w", cfg.Name, err)
	}
	return nil
}

// EnsureStream creates a stream that anybody may use, and leaves an
// existing one as it is: its owner or an operator decides its settings.
func (in *Installer) EnsureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	_, err := in.JS.CreateStream(ctx, cfg)
	if err == nil || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil
	}
	return fmt.Errorf("creating stream %s: %w", cfg.Name, err)
}

// ConsumerSettings are the settings of one endpoint's durable consumers.
type ConsumerSettings struct {
	AckWait       time.Duration
	MaxAckPending int
}

// QueueConsumer creates or updates endpoint's durable consumer on its
// queue stream, shared by all instances of the endpoint. MaxDeliver is
// unlimited: the endpoint's retry policy decides when a message moves to
// the error stream, so the server never strands one.
func (in *Installer) QueueConsumer(ctx context.Context, endpoint string, s ConsumerSettings) (jetstream.Consumer, error) {
	stream := in.Names.QueueStream(endpoint)
	cfg := jetstream.ConsumerConfig{
		Durable:       in.Names.Consumer(endpoint),
		Description:   "gobus endpoint " + endpoint + " queue",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.AckWait,
		MaxAckPending: s.MaxAckPending,
		MaxDeliver:    -1,
		Replicas:      in.Settings.Replicas,
	}
	c, err := in.JS.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// EventConsumer creates or updates endpoint's durable consumer on the
// events stream, filtered to the event subjects it handles. A new
// subscriber receives the events published after it first subscribed.
func (in *Installer) EventConsumer(ctx context.Context, endpoint string, subjects []string, s ConsumerSettings) (jetstream.Consumer, error) {
	stream := in.Names.EventsStream()
	cfg := jetstream.ConsumerConfig{
		Durable:        in.Names.Consumer(endpoint),
		Description:    "gobus endpoint " + endpoint + " subscriptions",
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        s.AckWait,
		MaxAckPending:  s.MaxAckPending,
		MaxDeliver:     -1,
		FilterSubjects: subjects,
		Replicas:       in.Settings.Replicas,
	}
	c, err := in.JS.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// Consumer looks up an existing consumer, for accounts where the installer
// is switched off.
func (in *Installer) Consumer(ctx context.Context, stream, endpoint string) (jetstream.Consumer, error) {
	c, err := in.JS.Consumer(ctx, stream, in.Names.Consumer(endpoint))
	if err != nil {
		return nil, fmt.Errorf("looking up consumer %s on stream %s (the installer is off, so it must exist): %w", in.Names.Consumer(endpoint), stream, err)
	}
	return c, nil
}
