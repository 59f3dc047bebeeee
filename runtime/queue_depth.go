package gobus

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// queueDepthTimeout bounds one read of a consumer's info.
const queueDepthTimeout = 5 * time.Second

// queueDepth reads the depth of an endpoint's consumers (its queue
// consumer, and its events consumer if it subscribes to events) at an
// interval, in one goroutine per started endpoint, and reports the last
// values read through the gobus.queue.depth gauge. Every instance of the
// endpoint reads the same consumers, so they all report the same depth.
type queueDepth struct {
	js       jetstream.JetStream
	ep       *Endpoint
	m        *endpointMetrics
	meter    metric.Meter
	gauge    metric.Int64ObservableGauge
	interval time.Duration
	sources  []*depthSource

	reg    metric.Registration
	cancel context.CancelFunc
	done   chan struct{}
}

// depthSource is one consumer whose depth is read.
type depthSource struct {
	stream   string
	consumer string
	opts     []metric.ObserveOption
	depth    atomic.Int64 // -1 until read, or if the last read failed
}

func (ep *Endpoint) newQueueDepth(m *endpointMetrics, meter metric.Meter, interval time.Duration) *queueDepth {
	names := ep.client.names
	streams := []string{names.QueueStream(ep.name)}
	for _, reg := range ep.handlers {
		if reg.route.Kind == KindEvent {
			streams = append(streams, names.EventsStream())
			break
		}
	}
	q := &queueDepth{js: ep.client.js, ep: ep, m: m, meter: meter, gauge: m.in.depth, interval: interval}
	for _, stream := range streams {
		s := &depthSource{stream: stream, consumer: names.Consumer(ep.name)}
		s.opts = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
			semconv.MessagingSystemKey.String("nats"),
			semconv.MessagingConsumerGroupNameKey.String(ep.name),
			semconv.MessagingDestinationSubscriptionNameKey.String(s.consumer),
			attrStream.String(stream),
		))}
		s.depth.Store(-1)
		q.sources = append(q.sources, s)
	}
	return q
}

// start registers the gauge's callback and starts reading.
func (q *queueDepth) start() {
	reg, err := q.meter.RegisterCallback(q.observe, q.gauge)
	if err != nil {
		q.ep.log.Warn("gobus: the meter provider refused the queue depth callback; the depth is not reported", "error", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	q.reg, q.cancel, q.done = reg, cancel, make(chan struct{})
	go q.run(ctx)
}

// stop unregisters the callback and stops reading; it returns once the
// reader is done.
func (q *queueDepth) stop() {
	if q.cancel == nil {
		return
	}
	if err := q.reg.Unregister(); err != nil {
		q.ep.log.Debug("gobus: unregistering the queue depth callback failed", "error", err)
	}
	q.cancel()
	<-q.done
}

// observe reports the depths last read.
func (q *queueDepth) observe(_ context.Context, o metric.Observer) error {
	for _, s := range q.sources {
		if d := s.depth.Load(); d >= 0 {
			o.ObserveInt64(q.gauge, d, s.opts...)
		}
	}
	return nil
}

// run reads the depths at once, then every interval, until ctx ends. It
// reads nothing while the measurements go nowhere (see
// [endpointMetrics.live]), so that without an SDK no request is made.
func (q *queueDepth) run(ctx context.Context) {
	defer close(q.done)
	tick := time.NewTicker(q.interval)
	defer tick.Stop()
	for {
		if q.m.live() {
			for _, s := range q.sources {
				q.read(ctx, s)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// read asks the server for the info of s's consumer: its depth is the
// messages not yet delivered (pending) plus those delivered and not yet
// acknowledged (ack pending: being handled, prefetched, or waiting for a
// delayed retry). If the read fails, the depth is not reported until a
// read succeeds.
func (q *queueDepth) read(ctx context.Context, s *depthSource) {
	readCtx, cancel := context.WithTimeout(ctx, queueDepthTimeout)
	defer cancel()
	c, err := q.js.Consumer(readCtx, s.stream, s.consumer)
	if err != nil {
		s.depth.Store(-1)
		if ctx.Err() == nil {
			q.ep.log.Debug("gobus: reading the queue depth failed", "stream", s.stream, "consumer", s.consumer, "error", err)
		}
		return
	}
	info := c.CachedInfo()
	s.depth.Store(int64(info.NumPending) + int64(info.NumAckPending))
}
