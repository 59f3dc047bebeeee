package topology

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Edge describes a client on an edge machine: its NATS server is a leaf
// node of the hub with a JetStream domain of its own. What it sends to
// the hub waits in its forward stream until the client has forwarded it
// (the hub's streams allow message schedules, and JetStream does not let
// such a stream source another); the queue streams of the endpoints it
// hosts source their commands from the hub's. docs/wire.md ("Store and
// forward") documents the topology.
type Edge struct {
	// Domain is the edge server's JetStream domain.
	Domain string
	// HubDomain is the hub's JetStream domain.
	HubDomain string
	// Local names the endpoints the edge hosts.
	Local map[string]bool
}

// ForwardStream is the stream of an edge that holds what it sends to the
// hub until the hub has it.
func (n Names) ForwardStream() string { return n.Prefix + "_forward" }

// ForwardSubjects is the subject filter of the forward stream.
func (n Names) ForwardSubjects() string { return n.Prefix + ".fwd.>" }

// Forwarded is the subject under which an edge's forward stream keeps a
// message for subject (a subject or filter under the prefix): the prefix,
// "fwd", and the rest of subject.
func (n Names) Forwarded(subject string) string {
	return n.Prefix + ".fwd." + strings.TrimPrefix(subject, n.Prefix+".")
}

// Unforwarded is the subject a message in the forward stream is for.
func (n Names) Unforwarded(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, n.Prefix+".fwd.")
	return n.Prefix + "." + rest, ok
}

// ForwarderConsumer is the durable consumer of an edge's forward stream
// that the edge's client forwards from.
func (n Names) ForwarderConsumer() string { return "forwarder" }

// EdgeLocalSubjects are the subjects of a hosted endpoint's queue stream
// on the edge: its commands, retries and replies. Its schedules are not
// among them: a stream that sources cannot schedule, so they fire on the
// hub.
func (n Names) EdgeLocalSubjects(endpoint string) []string {
	return []string{n.CommandSubjects(endpoint), n.RetrySubject(endpoint), n.ReplySubject(endpoint)}
}

// ForwardStreamConfig is the configuration of an edge's forward stream: a
// work queue, so that what the hub has sourced is removed.
func (in *Installer) ForwardStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        in.Names.ForwardStream(),
		Description: "gobus edge " + in.Edge.Domain + ": what it sends to the hub, kept until the hub's streams have it",
		Subjects:    []string{in.Names.ForwardSubjects()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    1,
		Duplicates:  in.Settings.DuplicateWindow,
	}
}

// EdgeEventsStreamConfig is the configuration of an edge's events stream:
// it has no subjects of its own (events published on the edge go to the
// hub) and sources the hub's events from the time it is created.
func (in *Installer) EdgeEventsStreamConfig(now time.Time) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        in.Names.EventsStream(),
		Description: "gobus events of the hub, sourced to edge " + in.Edge.Domain,
		Sources: []*jetstream.StreamSource{{
			Name:         in.Names.EventsStream(),
			Domain:       in.Edge.HubDomain,
			OptStartTime: &now,
		}},
		Retention: jetstream.LimitsPolicy,
		MaxAge:    in.Settings.EventsMaxAge,
		Storage:   jetstream.FileStorage,
		Replicas:  1,
	}
}

// edgeQueueSource is the source of a hosted endpoint's queue stream on
// the edge: the hub's queue stream of the same name, the subjects the
// endpoint's consumer takes (not its schedules, which fire on the hub).
func (in *Installer) edgeQueueSource(endpoint string) *jetstream.StreamSource {
	var transforms []jetstream.SubjectTransformConfig
	for _, s := range in.QueueSubjects(endpoint) {
		transforms = append(transforms, jetstream.SubjectTransformConfig{Source: s, Destination: s})
	}
	return &jetstream.StreamSource{
		Name:              in.Names.QueueStream(endpoint),
		Domain:            in.Edge.HubDomain,
		SubjectTransforms: transforms,
	}
}

// sameSource reports whether a and b source the same stream in the same
// domain or account.
func sameSource(a, b *jetstream.StreamSource) bool {
	return a.Name == b.Name && apiPrefix(a) == apiPrefix(b)
}

func apiPrefix(s *jetstream.StreamSource) string {
	if s.External != nil {
		return s.External.APIPrefix
	}
	if s.Domain != "" {
		return "$JS." + s.Domain + ".API"
	}
	return ""
}

// AddSource gives the stream named stream the source src, or replaces a
// source of the same stream and domain whose subject transforms differ.
// It reports whether it changed the stream.
func (in *Installer) AddSource(ctx context.Context, stream string, src *jetstream.StreamSource) (bool, error) {
	s, err := in.JS.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("looking up stream %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	i := slices.IndexFunc(cfg.Sources, func(have *jetstream.StreamSource) bool { return sameSource(have, src) })
	if i >= 0 && slices.Equal(cfg.Sources[i].SubjectTransforms, src.SubjectTransforms) {
		return false, nil
	}
	if i >= 0 {
		cfg.Sources[i] = src
	} else {
		cfg.Sources = append(cfg.Sources, src)
	}
	if _, err := in.JS.UpdateStream(ctx, cfg); err != nil {
		return false, fmt.Errorf("adding source %s (%s) to stream %s: %w", src.Name, apiPrefix(src), stream, err)
	}
	return true, nil
}
