package gobus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/pump"
	"github.com/gobusdev/gobus/internal/topology"
)

// Endpoint is one logical endpoint, such as "sales": the handlers for the
// commands routed to it and the events it subscribes to. Every instance of
// an endpoint (every process that runs one with the same name) shares its
// durable consumers, so each message is handled by one instance.
//
// Register handlers with the generated RegisterXHandler functions, then
// [Endpoint.Start] it, or [Endpoint.Run] it until a context ends.
type Endpoint struct {
	client       *Client
	name         string
	retrySubject string
	// partitionPrefix starts the subjects of the endpoint's keyed
	// commands, checked on every message.
	partitionPrefix string
	cfg             endpointConfig
	log             *slog.Logger

	gate    *gate
	records *deliveryRecords
	metrics *endpointMetrics // made at Start; nil with metrics off
	// handle is the handling chain, dispatch the chain of what the
	// endpoint's handlers send; both are built at Start.
	handle   Handler
	dispatch DispatchFunc
	hung     atomic.Int64 // handlers given up past their max handling time
	auditor  *auditor     // nil with auditing off

	mu       sync.Mutex
	handlers map[string]*registration
	opens    []func(context.Context) error // what registrations open at Start, such as a saga's bucket
	// sagaStates are the state types of the sagas registered, for the
	// schema registry.
	sagaStates []string
	started    bool
	pump       *pump.Pump
	stopOnce   sync.Once
	stopErr    error
}

// registration is one message type the endpoint handles.
type registration struct {
	route   Route
	subject string // where the type arrives, computed at Start
	decode  func(body) (proto.Message, error)
	call    Handler // the user's handler, typed

	// filterSubjects are an event's consumer filter subjects.
	filterSubjects []string
}

// NewEndpoint returns the endpoint name hosted by client c. The name is a
// NATS subject token: letters, digits, '-' and '_', starting with a letter.
func NewEndpoint(c *Client, name string, opts ...EndpointOption) (*Endpoint, error) {
	if err := topology.CheckToken("endpoint name", name); err != nil {
		return nil, invalidf("%v", err)
	}
	if !c.cfg.hostsEndpoint(name) {
		return nil, invalidf("endpoint %s: this client is on edge %s, which hosts only %v (WithEdge Endpoints): add it there, so that its commands are sourced to this edge", name, c.cfg.edge.Domain, c.cfg.edge.Endpoints)
	}
	cfg := defaultEndpointConfig()
	for _, o := range opts {
		o.applyEndpoint(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", name, err)
	}
	ep := &Endpoint{
		client:          c,
		name:            name,
		retrySubject:    c.names.RetrySubject(name),
		partitionPrefix: c.names.PartitionPrefix(name),
		cfg:             cfg,
		log:             c.cfg.logger.With("endpoint", name),
		handlers:        map[string]*registration{},
		gate:            newGate(),
	}
	if err := c.addEndpoint(ep); err != nil {
		return nil, err
	}
	return ep, nil
}

// Name returns the endpoint's name.
func (ep *Endpoint) Name() string { return ep.name }

func (ep *Endpoint) register(reg *registration) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.registerLocked(reg)
}

// registerAll registers regs, all or none, and has open run as the
// endpoint starts.
func (ep *Endpoint) registerAll(regs []*registration, open func(context.Context) error) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for i, reg := range regs {
		if err := ep.registerLocked(reg); err != nil {
			for _, done := range regs[:i] {
				delete(ep.handlers, done.route.Type)
			}
			return err
		}
	}
	ep.opens = append(ep.opens, open)
	return nil
}

func (ep *Endpoint) registerLocked(reg *registration) error {
	if ep.started {
		return fmt.Errorf("%w: register the handler for %s before Start", ErrStarted, reg.route.Type)
	}
	if _, ok := ep.handlers[reg.route.Type]; ok {
		return invalidf("endpoint %s already has a handler for %s", ep.name, reg.route.Type)
	}
	if reg.route.Kind == KindCommand {
		if dest := ep.client.endpointFor(reg.route); dest != ep.name {
			return invalidf("%s commands go to endpoint %q, not %q: register the handler on the %s endpoint, or route them here with gobus.WithRoute(%q, %q)",
				reg.route.Type, dest, ep.name, dest, reg.route.Type, ep.name)
		}
	}
	ep.handlers[reg.route.Type] = reg
	return nil
}

// Start creates the endpoint's stream and consumers (unless the installer
// is off) and starts handling messages. It returns once the endpoint is
// pulling. An endpoint starts once.
func (ep *Endpoint) Start(ctx context.Context) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.started {
		return fmt.Errorf("%w: %s", ErrStarted, ep.name)
	}
	if len(ep.handlers) == 0 {
		return invalidf("endpoint %s has no handlers: register some before Start (a process that only sends needs no endpoint)", ep.name)
	}
	for _, reg := range ep.handlers {
		if reg.route.Kind == KindReply {
			reg.subject = ep.client.names.ReplySubject(ep.name)
			continue
		}
		subject, err := ep.client.subjectFor(reg.route)
		if err != nil {
			return err
		}
		reg.subject = subject
	}
	if ep.client.isClosed() {
		return ErrClosed
	}
	for _, open := range ep.opens {
		if err := open(ctx); err != nil {
			return fmt.Errorf("gobus: endpoint %s: %w", ep.name, err)
		}
	}
	ep.records = ep.client.deliveryRecords(ctx, ep.name)
	ep.metrics = ep.newMetrics()
	if err := ep.prepareAudit(ctx); err != nil {
		return err
	}
	ep.publishSchemas(ctx)
	ep.buildChains()
	limiter, err := ep.openRateLimiter(ctx)
	if err != nil {
		return fmt.Errorf("gobus: endpoint %s: %w", ep.name, err)
	}
	p, err := pump.Start(ctx, pump.Config{
		Sources:     ep.sources(),
		Concurrency: ep.cfg.concurrency,
		Prefetch:    ep.cfg.prefetchOrDefault(),
		Heartbeat:   ep.cfg.ackWait / 2,
		Handle:      ep.rateLimited(limiter, ep.process),
		HandBack:    ep.handBack,
		Overrun:     ep.overrun,
		Tick:        ep.cfg.watchTick(),
		ConnClosed:  ep.client.nc.IsClosed,
		Logger:      ep.log,
	})
	if err != nil {
		return fmt.Errorf("gobus: endpoint %s: %w", ep.name, err)
	}
	ep.pump = p
	ep.auditor.start()
	ep.metrics.start()
	ep.started = true
	ep.log.Info("gobus: endpoint started", "handles", ep.handledTypes(), "concurrency", ep.cfg.concurrency)
	return nil
}

// sources are the endpoint's consumers: one on its queue stream, which
// holds its commands and the messages retried for it, and one on the
// events stream if it subscribes to events. Opening a source creates or
// updates its consumer, or looks it up when the installer is off; the
// pump opens it again if it vanishes while the endpoint runs.
func (ep *Endpoint) sources() []pump.Source {
	in := ep.client.installer
	names := ep.client.names
	settings := topology.ConsumerSettings{AckWait: ep.cfg.ackWait, MaxAckPending: ep.cfg.maxAckPending}
	install := ep.client.cfg.install
	var events []string
	for _, reg := range ep.handlers {
		if reg.route.Kind == KindEvent {
			events = append(events, reg.eventFilterSubjects(names)...)
		}
	}
	sort.Strings(events)
	queue := pump.Source{Name: names.QueueStream(ep.name) + "/" + ep.name, Open: func(ctx context.Context) (jetstream.Consumer, error) {
		if !install {
			return in.Consumer(ctx, names.QueueStream(ep.name), ep.name)
		}
		if err := in.OwnQueueStream(ctx, ep.name); err != nil {
			return nil, err
		}
		return in.QueueConsumer(ctx, ep.name, settings)
	}}
	out := append([]pump.Source{queue}, ep.partitionSources()...)
	if len(events) > 0 {
		out = append(out, pump.Source{Name: names.EventsStream() + "/" + ep.name, Open: func(ctx context.Context) (jetstream.Consumer, error) {
			if !install {
				return in.Consumer(ctx, names.EventsStream(), ep.name)
			}
			return in.EventConsumer(ctx, ep.name, events, settings)
		}})
	}
	return out
}

func (ep *Endpoint) handledTypes() []string {
	types := make([]string, 0, len(ep.handlers))
	for t := range ep.handlers {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// Stop stops pulling, hands prefetched messages back to the server, and
// waits for running handlers until ctx is done. Then it cancels their
// contexts: a message whose handler did not succeed is delivered again,
// never acknowledged, and handlers that still run are no longer reported
// in progress, so the server hands their messages to another instance
// within one ack wait. Stop is safe to call more than once (later calls
// return the first call's result); an endpoint that never started stops
// at once. A stopped endpoint is released by its client.
func (ep *Endpoint) Stop(ctx context.Context) error {
	ep.mu.Lock()
	p := ep.pump
	ep.mu.Unlock()
	if p == nil {
		ep.client.removeEndpoint(ep)
		return nil
	}
	ep.stopOnce.Do(func() {
		ep.metrics.stop()
		if err := p.Stop(ctx); err != nil {
			ep.stopErr = fmt.Errorf("gobus: endpoint %s: %w", ep.name, err)
			ep.log.Error("gobus: endpoint stopped with handlers still running", "error", err)
		} else {
			ep.log.Info("gobus: endpoint stopped")
		}
		ep.auditor.stop(ctx)
		ep.client.removeEndpoint(ep)
	})
	return ep.stopErr
}

// Run starts the endpoint, handles messages until ctx is done, then stops
// it, giving running handlers up to the ack wait to finish. If the NATS
// connection is closed for good, Run stops the endpoint and returns
// [ErrConnectionClosed].
func (ep *Endpoint) Run(ctx context.Context) error {
	if err := ep.Start(ctx); err != nil {
		return err
	}
	var dead error
	select {
	case <-ctx.Done():
	case <-ep.pump.Dead():
		dead = fmt.Errorf("%w: endpoint %s can receive no more messages", ErrConnectionClosed, ep.name)
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ep.cfg.ackWait)
	defer cancel()
	return errors.Join(dead, ep.Stop(stopCtx))
}

// watchTick is how often the pump checks heartbeats and max handling
// times: often enough for the shortest of them.
func (c *endpointConfig) watchTick() time.Duration {
	tick := c.ackWait / 8
	for _, d := range c.maxHandlingFor {
		tick = min(tick, d/8)
	}
	return max(min(tick, c.maxHandling/8), 5*time.Millisecond)
}
