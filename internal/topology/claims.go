package topology

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ClaimsBucket is the JetStream Object Store bucket that holds the bodies
// sent by claim check: "<prefix>_claims", whose stream JetStream names
// "OBJ_<prefix>_claims".
func (n Names) ClaimsBucket() string { return n.Prefix + "_claims" }

// ClaimsBucketConfig is the configuration of the claims bucket. Its
// objects live as long as events do (Settings.EventsMaxAge), so that an
// event's body outlives no event that refers to it and lasts as long as
// any subscriber may still receive it; a command's body is removed once
// the command is handled.
func (in *Installer) ClaimsBucketConfig() jetstream.ObjectStoreConfig {
	return jetstream.ObjectStoreConfig{
		Bucket:      in.Names.ClaimsBucket(),
		Description: "gobus bodies sent by claim check, referred to by ce-dataref",
		TTL:         in.Settings.EventsMaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    in.Settings.Replicas,
	}
}

// ClaimsBucket returns the claims bucket, creating it if it is missing;
// an existing one is left as it is, whatever its settings.
func (in *Installer) ClaimsBucket(ctx context.Context) (jetstream.ObjectStore, error) {
	cfg := in.ClaimsBucketConfig()
	obs, err := in.JS.ObjectStore(ctx, cfg.Bucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return obs, wrapBucketErr(cfg.Bucket, "looking up", err)
	}
	obs, err = in.JS.CreateObjectStore(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		obs, err = in.JS.ObjectStore(ctx, cfg.Bucket) // created meanwhile
	}
	if err == nil {
		in.logger().Info("gobus: created the claims bucket", "bucket", cfg.Bucket, "max_age", cfg.TTL)
	}
	return obs, wrapBucketErr(cfg.Bucket, "creating", err)
}

// LookUpClaimsBucket returns the claims bucket, which must exist, for a
// client whose installer is off.
func (in *Installer) LookUpClaimsBucket(ctx context.Context) (jetstream.ObjectStore, error) {
	obs, err := in.JS.ObjectStore(ctx, in.Names.ClaimsBucket())
	return obs, wrapBucketErr(in.Names.ClaimsBucket(), "looking up", err)
}

func wrapBucketErr(bucket, doing string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s the claims bucket %s: %w", doing, bucket, err)
}
