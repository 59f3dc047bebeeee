package gobus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"
)

// edgeRetryInterval is how soon an edge's client tries the hub again
// after it could not reach it.
const edgeRetryInterval = time.Second

// forwardAckWait is how long the forward stream waits for the forwarder
// to acknowledge a message before it hands the message out again: after
// a crash, forwarding resumes that long after the restart. The forwarder
// tells it that it is still at work before each attempt.
const forwardAckWait = 10 * time.Second

// installEdge creates the edge's own streams: the forward stream, the
// events stream that sources the hub's, and the queue streams of the
// endpoints it hosts. It needs no hub.
func (c *Client) installEdge(ctx context.Context) error {
	in := c.installer
	if err := in.EnsureStream(ctx, in.ForwardStreamConfig()); err != nil {
		return fmt.Errorf("gobus: %w", err)
	}
	if err := in.EnsureStream(ctx, in.EdgeEventsStreamConfig(time.Now())); err != nil {
		return fmt.Errorf("gobus: %w", err)
	}
	for _, ep := range c.cfg.edge.Endpoints {
		if err := in.OwnQueueStream(ctx, ep); err != nil {
			return fmt.Errorf("gobus: %w", err)
		}
	}
	return nil
}

// edgeLink is the background work of an edge's client: it creates on the
// hub the streams the edge's messages and its endpoints need, and
// forwards what waits in the forward stream to the hub, one message at a
// time, in order.
type edgeLink struct {
	c      *Client
	local  jetstream.JetStream // the edge's, not rewritten
	hub    *topology.Installer
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	installed bool   // the hub's streams exist
	forwarded uint64 // messages forwarded since Connect
	lastErr   error  // the last attempt's, nil after a success
}

// startEdgeLink starts the background work of an edge's client. local is
// the edge's own JetStream, which publishes as asked.
func (c *Client) startEdgeLink(ctx context.Context, local jetstream.JetStream) error {
	hubJS, err := jetstream.NewWithDomain(c.nc, c.cfg.edge.HubDomain)
	if err != nil {
		return fmt.Errorf("gobus: %w", err)
	}
	in := c.installer
	cons, err := local.CreateOrUpdateConsumer(ctx, c.names.ForwardStream(), jetstream.ConsumerConfig{
		Durable:       c.names.ForwarderConsumer(),
		Description:   "gobus edge " + c.cfg.edge.Domain + ": forwards to the hub, in order",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       forwardAckWait,
		MaxAckPending: 1, // one at a time: nothing overtakes a message the hub has not taken
		MaxDeliver:    -1,
	})
	if err != nil {
		return fmt.Errorf("gobus: creating the forwarder on stream %s: %w", c.names.ForwardStream(), err)
	}
	run, cancel := context.WithCancel(context.Background())
	l := &edgeLink{
		c:     c,
		local: local,
		hub: &topology.Installer{
			JS: hubJS, Names: c.names, Logger: c.cfg.logger, Strict: c.cfg.strict, Ordered: c.cfg.orderedEndpoints(),
			Settings: in.Settings,
		},
		cancel:  cancel,
		done:    make(chan struct{}),
		lastErr: errors.New("not linked yet"),
	}
	c.edge = l
	go l.run(run, cons)
	return nil
}

// run sets the hub up, then forwards until the client closes.
func (l *edgeLink) run(ctx context.Context, cons jetstream.Consumer) {
	defer close(l.done)
	log := l.c.cfg.logger.With("edge", l.c.cfg.edge.Domain, "hub_domain", l.c.cfg.edge.HubDomain)
	reported := false
	report := func(err error) {
		l.mu.Lock()
		l.lastErr = err
		l.mu.Unlock()
		if err != nil && !reported {
			log.Info("gobus: edge not linked to the hub; what it sends waits on the edge", "error", err)
		}
		if err == nil && reported {
			log.Info("gobus: edge linked to the hub; forwarding what waits")
		}
		reported = err != nil
	}
	for ctx.Err() == nil {
		if !l.isInstalled() {
			attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := l.installHub(attempt)
			cancel()
			if err != nil {
				report(err)
				sleep(ctx, edgeRetryInterval)
				continue
			}
			l.mu.Lock()
			l.installed = true
			l.mu.Unlock()
			report(nil)
		}
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
				sleep(ctx, edgeRetryInterval)
			}
			continue
		}
		sent := false
		for !sent && ctx.Err() == nil {
			err := l.forward(ctx, msg)
			report(err)
			if sent = err == nil; !sent {
				sleep(ctx, edgeRetryInterval)
			}
		}
		if !sent {
			// Handed out again at once on the next start.
			_ = msg.Nak()
		}
	}
}

// forward publishes msg to the hub under the subject it was sent to, and
// acknowledges it on the edge once the hub has stored it. Its message id
// makes a second forward, after a crash between the two, a duplicate the
// hub drops.
func (l *edgeLink) forward(ctx context.Context, msg jetstream.Msg) error {
	subject, ok := l.c.names.Unforwarded(msg.Subject())
	if !ok {
		return msg.Term()
	}
	_ = msg.InProgress()
	out := nats.NewMsg(subject)
	out.Data = msg.Data()
	for k, v := range msg.Headers() {
		out.Header[unforwardHeader(k)] = v
	}
	attempt, cancel := context.WithTimeout(ctx, publishAckTimeout)
	defer cancel()
	if _, err := l.local.PublishMsg(attempt, out); err != nil {
		return fmt.Errorf("forwarding to %s: %w", subject, err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("acknowledging a forwarded message on the edge: %w", err)
	}
	l.mu.Lock()
	l.forwarded++
	l.mu.Unlock()
	return nil
}

// installHub creates on the hub the streams gobus needs there: events,
// errors, and the queue streams of every endpoint the routing table sends
// commands to and of the endpoints the edge hosts.
func (l *edgeLink) installHub(ctx context.Context) error {
	hub := l.hub
	for _, cfg := range []jetstream.StreamConfig{hub.EventsStreamConfig(), hub.ErrorsStreamConfig()} {
		if err := hub.EnsureStream(ctx, cfg); err != nil {
			return err
		}
	}
	queues := map[string]bool{}
	for _, r := range Routes() {
		if r.Kind == KindCommand {
			queues[l.c.endpointFor(r)] = true
		}
	}
	for _, ep := range l.c.cfg.edge.Endpoints {
		queues[ep] = true
	}
	for ep := range queues {
		if err := hub.EnsureStream(ctx, hub.QueueStreamConfig(ep)); err != nil {
			return err
		}
		if hub.Ordered[ep] {
			if err := hub.EnsureOrdering(ctx, ep); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *edgeLink) isInstalled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.installed
}

// stop ends the background work.
func (l *edgeLink) stop() {
	l.cancel()
	<-l.done
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// EdgeStatus is what an edge's client ([WithEdge]) knows of its link to
// the hub.
type EdgeStatus struct {
	// Waiting is how many messages wait on the edge to be forwarded.
	Waiting uint64
	// Forwarded is how many the client has forwarded since [Connect].
	Forwarded uint64
	// Err says why the last attempt to reach the hub failed; nil after a
	// success.
	Err error
}

// EdgeStatus reports an edge's client's store and forward: how much
// waits, how much went, and why the hub cannot be reached, if it cannot.
// On a client that is not on an edge it returns an error.
func (c *Client) EdgeStatus(ctx context.Context) (EdgeStatus, error) {
	l := c.edge
	if l == nil {
		return EdgeStatus{}, errors.New("gobus: the client is not on an edge (WithEdge)")
	}
	s, err := l.local.Stream(ctx, c.names.ForwardStream())
	if err != nil {
		return EdgeStatus{}, fmt.Errorf("gobus: looking up the forward stream: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return EdgeStatus{}, fmt.Errorf("gobus: looking up the forward stream: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return EdgeStatus{Waiting: info.State.Msgs, Forwarded: l.forwarded, Err: l.lastErr}, nil
}
