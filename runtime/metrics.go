package gobus

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"google.golang.org/protobuf/proto"
)

// meterName is the instrumentation scope of gobus's metrics.
const meterName = "github.com/gobusdev/gobus/runtime"

// Attributes of gobus's own, next to the messaging semantic conventions'.
const (
	attrMessageType = attribute.Key("gobus.message.type")
	attrRetryKind   = attribute.Key("gobus.retry.kind")
	attrStream      = attribute.Key("gobus.stream")
)

// Bucket boundaries, in seconds: the semantic conventions' advice for
// messaging durations, and longer ones for critical time, which includes
// the time a message waits in its queue and for delayed retries.
var (
	processBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	criticalBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400}
)

// allKinds are the error kinds a failure or a move to the error stream is
// counted under; their attribute sets are made at Start.
var allKinds = []string{
	kindMalformed, kindWrongSubject, kindUnknownType, kindDecode, kindPanic, kindUnimplemented,
	kindUnrecoverable, kindExhausted, kindTooLarge, kindTimeout, kindHandler,
}

// errPanicked stands for a panic that passes through the metrics
// middleware on its way to the recover around the chain, which makes it a
// *PanicError.
var errPanicked = &PanicError{Value: "(a panic on its way to the recover)"}

// instruments are gobus's metric instruments; docs/observability.md
// describes them.
type instruments struct {
	process  metric.Float64Histogram
	critical metric.Float64Histogram
	consumed metric.Int64Counter
	retries  metric.Int64Counter
	moved    metric.Int64Counter
	inFlight metric.Int64UpDownCounter
	depth    metric.Int64ObservableGauge
}

// newInstruments creates the instruments on m. An instrument m does not
// make is replaced by one that does nothing, and m's errors are returned.
func newInstruments(m metric.Meter) (*instruments, error) {
	var errs [7]error
	in := &instruments{}
	in.process, errs[0] = m.Float64Histogram("messaging.process.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of processing operation: one try of the handling chain (middleware, handler, dispatch of what it sent)."),
		metric.WithExplicitBucketBoundaries(processBuckets...))
	in.critical, errs[1] = m.Float64Histogram("gobus.critical_time", metric.WithUnit("s"),
		metric.WithDescription("Time from a message's sending (ce-time) to the end of its successful handling."),
		metric.WithExplicitBucketBoundaries(criticalBuckets...))
	in.consumed, errs[2] = m.Int64Counter("messaging.client.consumed.messages", metric.WithUnit("{message}"),
		metric.WithDescription("Number of messages that were delivered to the application: tries of the handling chain, with error.type if the try failed."))
	in.retries, errs[3] = m.Int64Counter("gobus.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Failed tries followed by another try: at once (immediate) or after a delay (delayed)."))
	in.moved, errs[4] = m.Int64Counter("gobus.moved_to_error.messages", metric.WithUnit("{message}"),
		metric.WithDescription("Messages moved to the error stream, by error kind."))
	in.inFlight, errs[5] = m.Int64UpDownCounter("gobus.in_flight.messages", metric.WithUnit("{message}"),
		metric.WithDescription("Messages in the handling chain now."))
	in.depth, errs[6] = m.Int64ObservableGauge("gobus.queue.depth", metric.WithUnit("{message}"),
		metric.WithDescription("Messages of a durable consumer not yet delivered or not yet acknowledged, as the server last said; the same for every instance of the endpoint."))
	in.orNoop()
	return in, errors.Join(errs[:]...)
}

// orNoop replaces the instruments a meter did not make with ones that do
// nothing.
func (in *instruments) orNoop() {
	if in.process == nil {
		in.process = noop.Float64Histogram{}
	}
	if in.critical == nil {
		in.critical = noop.Float64Histogram{}
	}
	if in.consumed == nil {
		in.consumed = noop.Int64Counter{}
	}
	if in.retries == nil {
		in.retries = noop.Int64Counter{}
	}
	if in.moved == nil {
		in.moved = noop.Int64Counter{}
	}
	if in.inFlight == nil {
		in.inFlight = noop.Int64UpDownCounter{}
	}
	if in.depth == nil {
		in.depth = noop.Int64ObservableGauge{}
	}
}

// attrOpts are the options that give a measurement one attribute set,
// made once so that a measurement allocates nothing.
type attrOpts struct {
	record []metric.RecordOption
	add    []metric.AddOption
}

func optsOf(kvs ...attribute.KeyValue) attrOpts {
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return attrOpts{record: []metric.RecordOption{o}, add: []metric.AddOption{o}}
}

// typeMetrics are the attribute sets of one message type's measurements.
type typeMetrics struct {
	attrs      []attribute.KeyValue
	ok         attrOpts
	failed     map[string]attrOpts // by error kind
	retryNow   []metric.AddOption
	retryLater []metric.AddOption
}

func newTypeMetrics(attrs ...attribute.KeyValue) *typeMetrics {
	attrs = slices.Clip(attrs)
	t := &typeMetrics{attrs: attrs, ok: optsOf(attrs...), failed: make(map[string]attrOpts, len(allKinds))}
	for _, k := range allKinds {
		t.failed[k] = optsOf(append(attrs, semconv.ErrorTypeKey.String(k))...)
	}
	t.retryNow = optsOf(append(attrs, attrRetryKind.String("immediate"))...).add
	t.retryLater = optsOf(append(attrs, attrRetryKind.String("delayed"))...).add
	return t
}

// failure is the attribute set of a failure of kind.
func (t *typeMetrics) failure(kind string) attrOpts {
	if o, ok := t.failed[kind]; ok {
		return o
	}
	return optsOf(append(t.attrs, semconv.ErrorTypeKey.String(kind))...)
}

// unsetMeterProvider is the global MeterProvider before a program sets
// one: the OpenTelemetry API's stand-in, whose instruments forward to the
// provider set later and measure nothing until then. nil if a provider
// was set before this package was initialized.
var unsetMeterProvider = func() metric.MeterProvider {
	mp := otel.GetMeterProvider()
	if t := reflect.TypeOf(mp); t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" {
		return mp
	}
	return nil
}()

// endpointMetrics measure one started endpoint. A nil *endpointMetrics,
// with metrics off, measures nothing.
type endpointMetrics struct {
	global bool // the instruments are the global MeterProvider's
	in     *instruments
	types  map[string]*typeMetrics // by message type, made at Start
	other  *typeMetrics            // messages of a type the endpoint does not handle
	depth  *queueDepth             // nil if the queue depth is not read
}

// live reports whether the measurements go anywhere: false while the
// instruments are the global MeterProvider's and no program has set one,
// so that measuring costs next to nothing without an SDK. A try is
// measured whole or not at all, so that the in-flight count stays right
// when a provider is set while messages are being handled.
func (m *endpointMetrics) live() bool {
	return !m.global || otel.GetMeterProvider() != unsetMeterProvider
}

// newMetrics makes the endpoint's instruments and attribute sets, or
// returns nil if the client's metrics are off. It runs at Start, once the
// subjects of the handled types are known.
func (ep *Endpoint) newMetrics() *endpointMetrics {
	cfg := &ep.client.cfg.metrics
	if cfg.off {
		return nil
	}
	meter := cfg.meterProvider().Meter(meterName, metric.WithInstrumentationVersion(Version), metric.WithSchemaURL(semconv.SchemaURL))
	in, err := newInstruments(meter)
	if err != nil {
		ep.log.Warn("gobus: the meter provider refused some instruments; they measure nothing", "error", err)
	}
	base := []attribute.KeyValue{
		semconv.MessagingSystemKey.String("nats"),
		semconv.MessagingConsumerGroupNameKey.String(ep.name),
		semconv.MessagingOperationNameKey.String("process"),
	}
	m := &endpointMetrics{global: cfg.provider == nil, in: in, types: make(map[string]*typeMetrics, len(ep.handlers)), other: newTypeMetrics(base...)}
	for typ, reg := range ep.handlers {
		m.types[typ] = newTypeMetrics(append(slices.Clip(base),
			semconv.MessagingDestinationNameKey.String(reg.subject), attrMessageType.String(typ))...)
	}
	if every := cfg.queueDepthInterval(); every > 0 {
		m.depth = ep.newQueueDepth(m, meter, every)
	}
	return m
}

// typeOf is the attribute sets of messages of type typ.
func (m *endpointMetrics) typeOf(typ string) *typeMetrics {
	if t, ok := m.types[typ]; ok {
		return t
	}
	return m.other
}

// handling is the built-in metrics link of every endpoint's handling
// chain, right inside tracing and outside the user's middleware: it
// measures every try. With metrics off (a nil m) it adds nothing.
func (m *endpointMetrics) handling(next Handler) Handler {
	if m == nil {
		return next
	}
	return func(ctx context.Context, mc *MessageContext, msg proto.Message) (err error) {
		if !m.live() {
			return next(ctx, mc, msg)
		}
		t := m.typeOf(mc.Type())
		m.in.inFlight.Add(ctx, 1, t.ok.add...)
		start := time.Now()
		panicked := true
		defer func() { m.tried(ctx, mc, t, start, err, panicked) }()
		err = next(ctx, mc, msg)
		panicked = false
		return err
	}
}

// tried measures one try that started at start and ended with err, or
// with a panic.
func (m *endpointMetrics) tried(ctx context.Context, mc *MessageContext, t *typeMetrics, start time.Time, err error, panicked bool) {
	now := time.Now()
	m.in.inFlight.Add(ctx, -1, t.ok.add...)
	took := now.Sub(start).Seconds()
	if err == nil && !panicked {
		m.in.process.Record(ctx, took, t.ok.record...)
		m.in.consumed.Add(ctx, 1, t.ok.add...)
		if sent := mc.Time(); !sent.IsZero() {
			m.in.critical.Record(ctx, max(now.Sub(sent).Seconds(), 0), t.ok.record...)
		}
		return
	}
	if panicked {
		err = errPanicked
	}
	f := t.failure(errorKind(policyError(ctx, err)))
	m.in.process.Record(ctx, took, f.record...)
	m.in.consumed.Add(ctx, 1, f.add...)
	switch mc.NextStep(err) {
	case StepRetryNow:
		m.in.retries.Add(ctx, 1, t.retryNow...)
	case StepRetryLater:
		m.in.retries.Add(ctx, 1, t.retryLater...)
	}
}

// policyError is err as the retry policy will see it: a handler that
// returned because its context ended at its max handling time failed with
// a *TimeoutError (see handlerTry.outcome).
func policyError(ctx context.Context, err error) error {
	var te *TimeoutError
	if errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &te) {
		return te
	}
	return err
}

// movedToErrors counts a message of type typ (its ce-type, possibly one
// the endpoint does not handle) moved to the error stream as kind.
func (m *endpointMetrics) movedToErrors(ctx context.Context, typ, kind string) {
	if m == nil {
		return
	}
	m.in.moved.Add(ctx, 1, m.typeOf(typ).failure(kind).add...)
}

// start starts what measures the endpoint in the background: the queue
// depth reader. It runs once the endpoint is pulling.
func (m *endpointMetrics) start() {
	if m == nil || m.depth == nil {
		return
	}
	m.depth.start()
}

// stop stops the queue depth reader and waits for it.
func (m *endpointMetrics) stop() {
	if m == nil || m.depth == nil {
		return
	}
	m.depth.stop()
}
