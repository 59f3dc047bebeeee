package topology

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/schedule"
)

// QueueSubjects are the subjects of endpoint's queue stream that its
// consumer takes: commands, retried messages and replies, not the
// schedules waiting to fire.
func (in *Installer) QueueSubjects(endpoint string) []string {
	return []string{in.Names.CommandSubjects(endpoint), in.Names.RetrySubject(endpoint), in.Names.ReplySubject(endpoint)}
}

// checkSchedules fails, naming the version found, when cfg allows
// message schedules and the server is older than nats-server 2.12.
func (in *Installer) checkSchedules(cfg jetstream.StreamConfig) error {
	if !cfg.AllowMsgSchedules {
		return nil
	}
	if err := schedule.CheckServer(in.JS.Conn().ConnectedServerVersion()); err != nil {
		return fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	return nil
}

// enableSchedules turns on message schedules, and adds the schedule
// subjects, on an existing stream that cfg wants them on and that lacks
// them: gobus's scheduled messages need both, and neither changes what
// the stream already holds. It returns the stream's configuration after.
func (in *Installer) enableSchedules(ctx context.Context, existing, cfg jetstream.StreamConfig) (*jetstream.StreamConfig, error) {
	missing := missingSubjects(existing.Subjects, cfg.Subjects)
	if !cfg.AllowMsgSchedules || existing.AllowMsgSchedules && len(missing) == 0 {
		return &existing, nil
	}
	if err := in.checkSchedules(cfg); err != nil {
		return nil, err
	}
	existing.AllowMsgSchedules = true
	existing.AllowRollup = true
	existing.DenyPurge = false
	existing.Subjects = append(existing.Subjects, missing...)
	s, err := in.JS.UpdateStream(ctx, existing)
	if err != nil {
		return nil, fmt.Errorf("enabling message schedules on stream %s: %w", existing.Name, err)
	}
	in.logger().Info("gobus: enabled message schedules on stream", "stream", existing.Name, "subjects", missing)
	updated := s.CachedInfo().Config
	return &updated, nil
}
