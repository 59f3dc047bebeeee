package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The values of a schedule's key in the schedules bucket.
const (
	claimFired     = "fired"
	claimCancelled = "cancelled"
)

// ClaimTTL is how long the schedules bucket keeps a claim: a cancel that
// raced its message's firing keeps the fired copy from being handled for
// this long after the cancel.
const ClaimTTL = 7 * 24 * time.Hour

// ErrFired is returned by [Cancel] for a scheduled message that already
// fired and was delivered: it can no longer be cancelled.
var ErrFired = errors.New("the scheduled message already fired")

// BucketConfig is the configuration of the schedules bucket name.
func BucketConfig(name string, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "gobus scheduled messages: fired or cancelled, whichever came first",
		TTL:         ClaimTTL,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}
}

// Key is the bucket key of the schedule on subject, under prefix.
func Key(prefix, subject string) (string, bool) {
	p := prefix + ".sched."
	if len(subject) <= len(p) || subject[:len(p)] != p {
		return "", false
	}
	return subject[len(p):], true
}

// Cancel cancels the scheduled message whose schedule is subject, in
// stream, with key in kv: it claims the key for the cancel, then purges
// the schedule so that it does not fire. A copy that fired in between is
// dropped by the receiver, which finds the key claimed ([ClaimFired]). It
// fails with [ErrFired] when the message fired and was delivered first.
// Cancelling twice is not an error.
func Cancel(ctx context.Context, kv jetstream.KeyValue, stream jetstream.Stream, subject, key string) error {
	if _, err := kv.Create(ctx, key, []byte(claimCancelled)); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("claiming scheduled message %s for the cancel: %w", key, err)
		}
		e, err := kv.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading the claim of scheduled message %s: %w", key, err)
		}
		if string(e.Value()) == claimFired {
			return ErrFired
		}
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSubject(subject)); err != nil {
		return fmt.Errorf("removing the schedule of %s: %w", key, err)
	}
	return nil
}

// ClaimFired claims key for a delivered message fired from its schedule.
// It reports false when a cancel claimed it first: the message must be
// dropped. A redelivery, or another subscriber of a fired event, finds its
// own claim and goes on.
func ClaimFired(ctx context.Context, kv jetstream.KeyValue, key string) (bool, error) {
	_, err := kv.Create(ctx, key, []byte(claimFired))
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, fmt.Errorf("claiming fired scheduled message %s: %w", key, err)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("reading the claim of scheduled message %s: %w", key, err)
	}
	return string(e.Value()) != claimCancelled, nil
}
