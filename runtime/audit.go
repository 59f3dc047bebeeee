package gobus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/topology"
)

// AuditOption turns auditing on for a client (all its endpoints) or one
// endpoint; it is both an [Option] and an [EndpointOption].
type AuditOption interface {
	Option
	EndpointOption
}

type auditOption struct{}

func (auditOption) applyClient(c *clientConfig)     { c.audit.on = true }
func (auditOption) applyEndpoint(c *endpointConfig) { c.audit = true }

// WithAudit has an endpoint copy the headers of each message it handles
// successfully, not its body, with when it started and ended handling it,
// to the audit stream "<prefix>_audit", from which gobus ui draws a
// conversation as a sequence diagram. Given to [Connect], it turns
// auditing on for every endpoint of the client; given to [NewEndpoint],
// for that endpoint. Auditing is off by default.
//
// Records are published off the handling path, in batches: a message is
// acknowledged without waiting for its record, and a record that cannot
// be stored is logged and counted (gobus.audit.failed), never failing the
// message. With the installer on, the endpoint creates the audit stream
// at Start; with it off, Start fails unless the stream exists.
// docs/wire.md describes the records.
func WithAudit() AuditOption { return auditOption{} }

// WithAuditRetention sets how long the audit stream keeps a record when
// the installer creates it. The default is [DefaultAuditRetention]. An
// existing stream keeps the max age it has.
func WithAuditRetention(d time.Duration) Option {
	return clientOptionFunc(func(c *clientConfig) { c.audit.maxAge = d })
}

// DefaultAuditRetention is how long the audit stream keeps records unless
// [WithAuditRetention] says otherwise.
const DefaultAuditRetention = topology.DefaultAuditMaxAge

// auditConfig is the client's audit settings.
type auditConfig struct {
	on     bool
	maxAge time.Duration
}

func (c *auditConfig) validate() error {
	if c.maxAge < 0 {
		return invalidf("WithAuditRetention(%s): use a positive duration, or 0 for the default %s", c.maxAge, DefaultAuditRetention)
	}
	return nil
}

// prepareAudit makes the endpoint's auditor if auditing is on for it,
// creating the audit stream with the installer on, or checking that it
// exists with the installer off.
func (ep *Endpoint) prepareAudit(ctx context.Context) error {
	c := ep.client
	if !ep.cfg.audit && !c.cfg.audit.on {
		return nil
	}
	in := c.installer
	cfg := in.AuditStreamConfig(c.cfg.audit.maxAge)
	if c.cfg.install {
		if err := in.EnsureStream(ctx, cfg); err != nil {
			return fmt.Errorf("gobus: endpoint %s: the audit stream: %w", ep.name, err)
		}
	} else if _, err := c.js.Stream(ctx, cfg.Name); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return err
		}
		return invalidf("endpoint %s audits, but the audit stream %s cannot be found (the installer is off, so it must exist): %v", ep.name, cfg.Name, err)
	}
	ep.auditor = newAuditor(ep)
	return nil
}

// auditing is the built-in audit link of the handling chain, inside the
// claim of scheduled messages and outside the user's middleware. It
// records each try that succeeded, its handler's sends stored; with
// auditing off it adds nothing.
func (ep *Endpoint) auditing(next Handler) Handler {
	a := ep.auditor
	if a == nil {
		return next
	}
	return func(ctx context.Context, mc *MessageContext, msg proto.Message) error {
		started := time.Now()
		err := next(ctx, mc, msg)
		if err == nil && !overran(ctx) {
			a.record(auditEntry{headers: mc.headers, env: mc.env, started: started, ended: time.Now()})
		}
		return err
	}
}

// overran reports that the try's context ended at its max handling time:
// the watch settled the message instead, and its outcome is dropped.
func overran(ctx context.Context) bool {
	return ctx.Err() != nil && timedOut(context.Cause(ctx))
}

// timedOut reports whether err is a [*TimeoutError]; apart from overran,
// so that the usual case allocates nothing.
func timedOut(err error) bool {
	var te *TimeoutError
	return errors.As(err, &te)
}
