package topology

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// Partitions is how many partitions an ordered endpoint's queue has: how
// many keys it handles at once, across all its instances.
const Partitions = 16

// KeySubject is where a sender puts a command for endpoint that is handled
// in order per key: token is the key, escaped into one subject token;
// suffix is the message's proto full name or its subject override. The
// queue stream maps it to the key's partition as it stores it.
func (n Names) KeySubject(endpoint, token, suffix string) string {
	return n.Prefix + ".key." + endpoint + "." + token + "." + suffix
}

// KeySubjects is the subject filter of endpoint's keyed commands.
func (n Names) KeySubjects(endpoint string) string {
	return n.Prefix + ".key." + endpoint + ".*.>"
}

// PartitionSubjects is the subject filter of partition p of endpoint's
// keyed commands, as the queue stream stores them:
// <prefix>.part.<endpoint>.<p>.<key token>.<suffix>.
func (n Names) PartitionSubjects(endpoint string, p int) string {
	return n.Prefix + ".part." + endpoint + "." + strconv.Itoa(p) + ".>"
}

// PartitionPrefix is what every stored keyed command of endpoint's
// subject starts with, up to its partition.
func (n Names) PartitionPrefix(endpoint string) string {
	return n.Prefix + ".part." + endpoint + "."
}

// PartitionConsumer is the durable consumer of partition p of endpoint's
// queue, shared by all its instances.
func (n Names) PartitionConsumer(endpoint string, p int) string {
	return endpoint + "-p" + strconv.Itoa(p)
}

// keyTransform maps a keyed command's subject to its partition: the
// server hashes the key token, so every sender, in any language, agrees
// on a key's partition without knowing how many there are.
func (n Names) keyTransform(endpoint string) *jetstream.SubjectTransformConfig {
	return &jetstream.SubjectTransformConfig{
		Source:      n.KeySubjects(endpoint),
		Destination: n.Prefix + ".part." + endpoint + ".{{partition(" + strconv.Itoa(Partitions) + ",1)}}.{{wildcard(1)}}.>",
	}
}

// withOrdering is cfg, the queue stream of endpoint, taking keyed commands
// if endpoint handles some in order.
func (in *Installer) withOrdering(endpoint string, cfg jetstream.StreamConfig) jetstream.StreamConfig {
	if !in.Ordered[endpoint] {
		return cfg
	}
	cfg.Subjects = append(cfg.Subjects, in.Names.KeySubjects(endpoint))
	cfg.SubjectTransform = in.Names.keyTransform(endpoint)
	return cfg
}

// ensureOrdering gives an existing queue stream the keyed subjects and
// their mapping to partitions when its endpoint handles commands in order
// and the stream lacks them, and returns the configuration it now has.
func (in *Installer) ensureOrdering(ctx context.Context, existing jetstream.StreamConfig, endpoint string) (jetstream.StreamConfig, error) {
	if !in.Ordered[endpoint] {
		return existing, nil
	}
	want := in.Names.keyTransform(endpoint)
	keyed := in.Names.KeySubjects(endpoint)
	if t := existing.SubjectTransform; t != nil && *t == *want && len(missingSubjects(existing.Subjects, []string{keyed})) == 0 {
		return existing, nil
	}
	if t := existing.SubjectTransform; t != nil && t.Source != want.Source {
		return existing, fmt.Errorf("stream %s maps subjects %s to %s; gobus needs its mapping of keyed commands (%s) there: remove the other mapping", existing.Name, t.Source, t.Destination, want.Source)
	}
	existing.Subjects = append(existing.Subjects, missingSubjects(existing.Subjects, []string{keyed})...)
	existing.SubjectTransform = want
	if _, err := in.JS.UpdateStream(ctx, existing); err != nil {
		return existing, fmt.Errorf("mapping the keyed commands of stream %s to partitions: %w", existing.Name, err)
	}
	in.logger().Info("gobus: the queue takes commands in order per key", "stream", existing.Name, "partitions", Partitions)
	return existing, nil
}

// EnsureOrdering gives endpoint's existing queue stream what its keyed
// commands need, for a sender that found it created without them.
func (in *Installer) EnsureOrdering(ctx context.Context, endpoint string) error {
	s, err := in.JS.Stream(ctx, in.Names.QueueStream(endpoint))
	if err != nil {
		return fmt.Errorf("looking up stream %s: %w", in.Names.QueueStream(endpoint), err)
	}
	_, err = in.ensureOrdering(ctx, s.CachedInfo().Config, endpoint)
	return err
}

// PartitionConsumer creates or updates the durable consumer of partition
// p of endpoint's queue. It holds one message at a time: the server hands
// out the next of the partition only once the one before is acked or
// terminated, whichever instance held it, and keeps a message naked with
// a delay as pending, so that retries wait in place.
func (in *Installer) PartitionConsumer(ctx context.Context, endpoint string, p int, s ConsumerSettings) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:        in.Names.PartitionConsumer(endpoint, p),
		Description:    fmt.Sprintf("gobus endpoint %s queue, partition %d of its commands in order per key", endpoint, p),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        s.AckWait,
		MaxAckPending:  1,
		MaxDeliver:     -1,
		FilterSubjects: []string{in.Names.PartitionSubjects(endpoint, p)},
	}
	return in.ensureConsumer(ctx, in.Names.QueueStream(endpoint), cfg)
}
