package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// Installer creates gobus streams and consumers. Every call is
// idempotent. It creates what is missing and never lowers the replicas of,
// or changes a setting an operator may have chosen on, a stream or
// consumer that exists: it compares, logs each difference as a warning
// naming the stream or consumer, the setting, the existing and the wanted
// value, and keeps the existing value. With Strict, a difference is an
// error wrapping [ErrMismatch] instead. The only settings it changes on an
// existing consumer are those its endpoint's code and options decide:
// what it filters, how it acknowledges, its ack wait and max ack pending.
type Installer struct {
	JS       jetstream.JetStream
	Names    Names
	Settings Settings
	// Logger receives the warnings; nil discards them.
	Logger *slog.Logger
	// Strict makes a difference an error.
	Strict bool
	// Ordered names the endpoints that handle commands in order per key:
	// their queue streams take keyed commands (see ordered.go).
	Ordered map[string]bool
	// Edge, if set, is the edge this installer's client runs on: the
	// queue streams of the endpoints it hosts source the hub's (edge.go).
	Edge *Edge
}

// QueueStreamConfig is the configuration of endpoint's queue stream.
func (in *Installer) QueueStreamConfig(endpoint string) jetstream.StreamConfig {
	cfg := in.withOrdering(endpoint, jetstream.StreamConfig{
		Name:        in.Names.QueueStream(endpoint),
		Description: "gobus queue of endpoint " + endpoint + ": its commands, replies, retried and scheduled messages",
		Subjects: []string{in.Names.CommandSubjects(endpoint), in.Names.RetrySubject(endpoint),
			in.Names.ReplySubject(endpoint), in.Names.ScheduleSubjects(endpoint)},
		Retention:         jetstream.WorkQueuePolicy,
		Storage:           jetstream.FileStorage,
		Replicas:          in.Settings.Replicas,
		Duplicates:        in.Settings.DuplicateWindow,
		AllowMsgSchedules: true,
		AllowRollup:       true,
	})
	if in.Edge != nil && in.Edge.Local[endpoint] {
		cfg.Subjects = in.Names.EdgeLocalSubjects(endpoint)
		cfg.AllowMsgSchedules = false
		cfg.Sources = []*jetstream.StreamSource{in.edgeQueueSource(endpoint)}
	}
	return cfg
}

// EventsStreamConfig is the configuration of the events stream.
func (in *Installer) EventsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              in.Names.EventsStream(),
		Description:       "gobus events",
		Subjects:          []string{in.Names.EventSubjects(), in.Names.EventScheduleSubjects()},
		Retention:         jetstream.LimitsPolicy,
		MaxAge:            in.Settings.EventsMaxAge,
		Storage:           jetstream.FileStorage,
		Replicas:          in.Settings.Replicas,
		Duplicates:        in.Settings.DuplicateWindow,
		AllowMsgSchedules: true,
		AllowRollup:       true,
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

// OwnQueueStream creates endpoint's queue stream if it is missing; only
// the endpoint itself calls it. An existing one gets the subjects the
// endpoint receives on if it lacks some; its other settings are compared
// and kept, as [Installer.EnsureStream] does.
func (in *Installer) OwnQueueStream(ctx context.Context, endpoint string) error {
	cfg := in.QueueStreamConfig(endpoint)
	existing, err := in.createStream(ctx, cfg)
	if err != nil || existing == nil {
		return err
	}
	if err := in.report("stream", cfg.Name, cfg.Name, streamDifferences(*existing, cfg, false)); err != nil {
		return err
	}
	if existing, err = in.enableSchedules(ctx, *existing, cfg); err != nil {
		return err
	}
	ordered, err := in.ensureOrdering(ctx, *existing, endpoint)
	if err != nil {
		return err
	}
	if err := in.addSubjects(ctx, ordered, cfg.Subjects); err != nil {
		return err
	}
	for _, src := range cfg.Sources {
		if _, err := in.AddSource(ctx, cfg.Name, src); err != nil {
			return err
		}
	}
	return nil
}

// EnsureStream creates a stream that anybody may use if it is missing. An
// existing one is compared with cfg and left as it is: its owner or an
// operator decides its settings.
func (in *Installer) EnsureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	existing, err := in.createStream(ctx, cfg)
	if err != nil || existing == nil {
		return err
	}
	if existing, err = in.enableSchedules(ctx, *existing, cfg); err != nil {
		return err
	}
	return in.report("stream", cfg.Name, cfg.Name, streamDifferences(*existing, cfg, true))
}

// createStream creates the stream cfg describes. If it exists with another
// configuration, it returns that configuration; nil if it was created or
// exists as cfg describes.
func (in *Installer) createStream(ctx context.Context, cfg jetstream.StreamConfig) (*jetstream.StreamConfig, error) {
	if err := in.checkSchedules(cfg); err != nil {
		return nil, err
	}
	_, err := in.JS.CreateStream(ctx, cfg)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil, fmt.Errorf("creating stream %s: %w", cfg.Name, err)
	}
	s, err := in.JS.Stream(ctx, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("looking up stream %s: %w", cfg.Name, err)
	}
	existing := s.CachedInfo().Config
	return &existing, nil
}

// addSubjects adds to an existing stream the subjects it lacks.
func (in *Installer) addSubjects(ctx context.Context, existing jetstream.StreamConfig, subjects []string) error {
	missing := missingSubjects(existing.Subjects, subjects)
	if len(missing) == 0 {
		return nil
	}
	existing.Subjects = append(existing.Subjects, missing...)
	if _, err := in.JS.UpdateStream(ctx, existing); err != nil {
		return fmt.Errorf("adding subjects %v to stream %s: %w", missing, existing.Name, err)
	}
	in.logger().Info("gobus: added subjects to stream", "stream", existing.Name, "subjects", missing)
	return nil
}

// ConsumerSettings are the settings of one endpoint's durable consumers.
type ConsumerSettings struct {
	AckWait       time.Duration
	MaxAckPending int
}

// QueueConsumer creates or updates endpoint's durable consumer on its
// queue stream, shared by all instances of the endpoint, as
// [Installer.ensureConsumer] says. MaxDeliver is unlimited: the endpoint's retry policy decides when a message moves to
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
		// Every subject of the queue stream but its schedules: a
		// consumer of a WorkQueue stream deletes what it acks, so one
		// that took a schedule would cancel it.
		FilterSubjects: in.QueueSubjects(endpoint),
	}
	return in.ensureConsumer(ctx, stream, cfg)
}

// EventConsumer creates or updates endpoint's durable consumer on the
// events stream, filtered to the event subjects it handles, as
// [Installer.ensureConsumer] says. A new
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
	}
	return in.ensureConsumer(ctx, stream, cfg)
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
