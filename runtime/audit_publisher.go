package gobus

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/gobusdev/gobus/internal/audit"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// auditQueue is how many records an endpoint holds while the audit stream
// is slow; past it, records are dropped (and counted), never waited for.
const auditQueue = 4096

// auditBatch is how many records the auditor publishes before it waits
// for their acknowledgements.
const auditBatch = 256

// auditLogEvery is how often at most the auditor logs lost records.
const auditLogEvery = time.Minute

// auditEntry is what a handling leaves for its record; the record is made
// off the handling path.
type auditEntry struct {
	headers        nats.Header
	env            *wire.Envelope
	started, ended time.Time
}

// auditor publishes an endpoint's audit records from its own goroutine.
type auditor struct {
	js       jetstream.JetStream
	names    topology.Names
	endpoint string
	log      *slog.Logger
	failed   metric.Int64Counter
	attrs    metric.AddOption

	queue   chan auditEntry
	quit    chan struct{}
	done    chan struct{}
	started atomic.Bool
	dropped atomic.Int64 // records dropped with the queue full, not yet logged
	lost    int64        // records that failed to publish, not yet logged
	lastErr error        // why the last of them failed
	logged  time.Time    // when lost records were last logged
}

func newAuditor(ep *Endpoint) *auditor {
	a := &auditor{
		js: ep.client.js, names: ep.client.names, endpoint: ep.name, log: ep.log,
		queue: make(chan auditEntry, auditQueue), quit: make(chan struct{}), done: make(chan struct{}),
		failed: noop.Int64Counter{},
		attrs:  metric.WithAttributes(attribute.String("messaging.consumer.group.name", ep.name)),
	}
	if cfg := &ep.client.cfg.metrics; !cfg.off {
		meter := cfg.meterProvider().Meter(meterName, metric.WithInstrumentationVersion(Version))
		if c, err := meter.Int64Counter("gobus.audit.failed", metric.WithUnit("{record}"),
			metric.WithDescription("Audit records lost: the audit stream did not store them, or the endpoint's queue of records was full.")); err == nil {
			a.failed = c
		}
	}
	return a
}

// record queues one record, or drops it if the queue is full.
func (a *auditor) record(e auditEntry) {
	select {
	case a.queue <- e:
	default:
		a.dropped.Add(1)
		a.failed.Add(context.Background(), 1, a.attrs)
	}
}

// start runs the auditor until stop; nil-safe.
func (a *auditor) start() {
	if a != nil && a.started.CompareAndSwap(false, true) {
		go a.run()
	}
}

// stop publishes the records queued, waiting for them until ctx is done;
// nil-safe, and safe to call more than once.
func (a *auditor) stop(ctx context.Context) {
	if a == nil || !a.started.CompareAndSwap(true, false) {
		return
	}
	close(a.quit)
	select {
	case <-a.done:
	case <-ctx.Done():
		a.log.Warn("gobus: stopped before the audit records of the last messages were stored; they may be lost", "queued", len(a.queue))
	}
}

func (a *auditor) run() {
	defer close(a.done)
	batch := make([]auditEntry, 0, auditBatch)
	for {
		select {
		case e := <-a.queue:
			batch = a.fill(append(batch[:0], e))
			a.publish(batch)
		case <-a.quit:
			for len(a.queue) > 0 {
				a.publish(a.fill(batch[:0]))
			}
			a.report(true)
			return
		}
	}
}

// fill adds to batch the records queued, up to auditBatch.
func (a *auditor) fill(batch []auditEntry) []auditEntry {
	for len(batch) < auditBatch {
		select {
		case e := <-a.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// publish stores batch in the audit stream, then waits for the
// acknowledgements, which the client's async publish timeout bounds.
func (a *auditor) publish(batch []auditEntry) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, e := range batch {
		m := audit.Message(a.names, a.endpoint, e.headers, e.env, e.started, e.ended)
		f, err := a.js.PublishMsgAsync(m)
		if err != nil {
			a.fail(1, err)
			continue
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			a.fail(1, err)
		}
	}
	a.report(false)
}

func (a *auditor) fail(n int64, err error) {
	a.failed.Add(context.Background(), n, a.attrs)
	a.lost += n
	a.lastErr = err
}

// report logs the records lost since the last report, at most once per
// auditLogEvery unless final.
func (a *auditor) report(final bool) {
	if a.lost == 0 && a.dropped.Load() == 0 {
		return
	}
	if !final && time.Since(a.logged) < auditLogEvery {
		return
	}
	dropped := a.dropped.Swap(0)
	a.log.Warn("gobus: audit records were lost; the messages were handled all the same",
		"stream", a.names.AuditStream(), "not_stored", a.lost, "dropped_queue_full", dropped, "error", a.lastErr)
	a.lost, a.lastErr, a.logged = 0, nil, time.Now()
}
