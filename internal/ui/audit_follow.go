package ui

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/audit"
)

// followAudit reads the audit stream from a minute back and on, feeding
// the endpoints' processing and critical times, until ctx ends. Without
// an audit stream it looks again every ten seconds.
func (s *Server) followAudit(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.readAudit(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			s.cfg.Logger.Warn("gobus ui: reading the audit stream", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
}

// readAudit follows the audit stream with an ordered consumer until ctx
// ends or the consumer fails.
func (s *Server) readAudit(ctx context.Context) error {
	st, err := s.cfg.JS.Stream(ctx, s.names.AuditStream())
	if err != nil {
		return err
	}
	since := time.Now().Add(-s.timings.window)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.names.AuditSubjects()},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
		HeadersOnly:    true,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		r := audit.FromHeaders(m.Headers())
		s.timings.add(r.Endpoint, r.Time, r.Started, r.Ended)
	}
}
