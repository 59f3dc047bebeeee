package gobus

import (
	"context"
	"errors"
	"reflect"
	"runtime/debug"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/wire"
)

// tracerName is the instrumentation scope of gobus's spans.
const tracerName = "github.com/gobusdev/gobus/runtime"

// Attributes and events of gobus's spans that the messaging semantic
// conventions have no name for. docs/observability.md lists them all.
const (
	// attrAttempt is which try of the message a process span is:
	// [MessageContext.Attempt].
	attrAttempt = attribute.Key("gobus.attempt")
	// attrDelivery is how many times the server delivered the message:
	// [MessageContext.Delivery].
	attrDelivery = attribute.Key("gobus.delivery")
	// attrNextStep is what the endpoint does with a message whose try
	// failed, a [Step]'s name: "retry-now", "retry-later",
	// "error-stream" or "hand-back".
	attrNextStep = attribute.Key("gobus.next_step")
	// eventRetry is the event of a failed try that is retried.
	eventRetry = "gobus.retry"
	// eventMovedToErrorStream is the event of the try after which the
	// message moves to the error stream.
	eventMovedToErrorStream = "gobus.moved_to_error_stream"
)

// messagingNATS is messaging.system: the semantic conventions have no
// value for NATS yet.
var messagingNATS = semconv.MessagingSystemKey.String("nats")

// WithTracerProvider makes the client and its endpoints record their
// spans with tp instead of the global tracer provider
// (otel.GetTracerProvider()), which is the default; a nil tp means the
// global one. docs/observability.md lists the spans and their attributes.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return clientOptionFunc(func(c *clientConfig) { c.tracing = &tracing{provider: tp} })
}

// WithoutTracing turns tracing off: the client and its endpoints record
// no spans and neither read nor write trace context headers, whatever
// tracer provider is installed.
func WithoutTracing() Option {
	return clientOptionFunc(func(c *clientConfig) { c.tracing = &tracing{off: true} })
}

// tracing is the built-in tracing of a client: a handling middleware that
// records a process span per try and a dispatch middleware that records a
// send or publish span per outgoing message. The nil *tracing traces with
// the global tracer provider.
type tracing struct {
	off      bool
	provider trace.TracerProvider // nil: the global one
	cache    atomic.Pointer[tracerOf]
}

// tracerOf is the tracer of a provider, or nil when the provider records
// nothing.
type tracerOf struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

// globalTracing is the tracing of clients without a tracing option.
var globalTracing = &tracing{}

// unsetGlobal is the type of the global tracer provider before a program
// sets one: the OpenTelemetry API's stand-in, which records nothing, so
// gobus skips it and starts no span at all. (Go eBPF auto-instrumentation,
// which hooks that stand-in's spans, therefore does not see gobus's.) nil
// if a provider was set before this package was initialized, or if a
// later API moves the stand-in: then every message goes through the
// tracer, at the cost of the API's no-op spans.
var unsetGlobal = func() reflect.Type {
	t := reflect.TypeOf(otel.GetTracerProvider())
	if t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" {
		return t
	}
	return nil
}()

func (t *tracing) enabled() bool { return t == nil || !t.off }

// tracer is the tracer that records gobus's spans, or nil if nothing would
// record them: no SDK installed, or a no-op provider given. It is looked
// up on every message, cheaply, so that a provider set after Connect is
// used.
func (t *tracing) tracer() trace.Tracer {
	if t == nil {
		t = globalTracing
	}
	tp := t.provider
	if tp == nil {
		tp = otel.GetTracerProvider()
		if reflect.TypeOf(tp) == unsetGlobal {
			return nil
		}
	}
	if c := t.cache.Load(); c != nil && sameProvider(c.provider, tp) {
		return c.tracer
	}
	c := &tracerOf{provider: tp}
	if _, isNoop := tp.(noop.TracerProvider); !isNoop {
		c.tracer = tp.Tracer(tracerName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(semconv.SchemaURL))
	}
	t.cache.Store(c)
	return c.tracer
}

// sameProvider reports whether a and b are one provider, without
// panicking on providers whose type is not comparable.
func sameProvider(a, b trace.TracerProvider) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// handling is the built-in tracing link of every endpoint's handling
// chain, outside the user's middleware.
func (t *tracing) handling(next Handler) Handler {
	if !t.enabled() {
		return next
	}
	return func(ctx context.Context, mc *MessageContext, msg proto.Message) error {
		tracer := t.tracer()
		if tracer == nil {
			// Nothing records, but a trace context that came with the
			// message goes on with what the handler sends, as the
			// OpenTelemetry API's no-op tracer would carry it.
			if mc.env.TraceParent != "" {
				ctx = extractTrace(ctx, mc)
			}
			return next(ctx, mc, msg)
		}
		return processSpan(ctx, tracer, mc, msg, next)
	}
}

// processSpan runs next in a process span of kind consumer, parented on
// and linked to the trace context the message carries. A panic in next
// becomes a [*PanicError], as the endpoint would make it, so that the span
// records it.
func processSpan(ctx context.Context, tracer trace.Tracer, mc *MessageContext, msg proto.Message, next Handler) (err error) {
	ctx = extractTrace(ctx, mc)
	remote := trace.SpanContextFromContext(ctx)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(processAttrs(mc)...)}
	if remote.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}))
	}
	ctx, span := tracer.Start(ctx, "process "+mc.Subject(), opts...)
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: string(debug.Stack())}
		}
		endProcessSpan(span, mc, err)
	}()
	return next(ctx, mc, msg)
}

func processAttrs(mc *MessageContext) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		messagingNATS,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(mc.Subject()),
		semconv.MessagingConsumerGroupName(mc.Endpoint()),
		semconv.MessagingMessageID(mc.ID()),
		semconv.MessagingMessageBodySize(len(mc.env.Data)),
		semconv.CloudEventsEventType(mc.Type()),
		semconv.CloudEventsEventSource(mc.Source()),
		attrAttempt.Int(mc.Attempt()),
		attrDelivery.Int(mc.Delivery()),
	}
	if id := mc.CorrelationID(); id != "" {
		attrs = append(attrs, semconv.MessagingMessageConversationID(id))
	}
	return attrs
}

// endProcessSpan records the outcome of a try and ends its span.
func endProcessSpan(span trace.Span, mc *MessageContext, err error) {
	defer span.End()
	if err == nil || !span.IsRecording() {
		return
	}
	step := mc.NextStep(err)
	recordFailure(span, err, errorKind(err), attrNextStep.String(step.String()))
	switch step {
	case StepRetryNow, StepRetryLater:
		span.AddEvent(eventRetry, trace.WithAttributes(attrNextStep.String(step.String())))
	case StepErrorStream:
		span.AddEvent(eventMovedToErrorStream, trace.WithAttributes(
			semconv.MessagingDestinationName(mc.ep.client.names.ErrorSubject(mc.Endpoint())),
			semconv.ErrorTypeKey.String(errorKind(err))))
	}
}

// recordFailure sets a failed span's status, error.type and more, and
// records the exception event, with the stack of a panic. On a process
// span, error.type is the failure's kind, as the error stream's
// gobus-error-kind header and the metrics name it ("handler", "panic",
// "timeout", …); the exception event has the error's Go type.
func recordFailure(span trace.Span, err error, errType string, more ...attribute.KeyValue) {
	span.SetAttributes(append(more, semconv.ErrorTypeKey.String(errType))...)
	var opts []trace.EventOption
	var p *PanicError
	if errors.As(err, &p) {
		opts = append(opts, trace.WithAttributes(semconv.ExceptionStacktrace(p.Stack)))
	}
	span.RecordError(err, opts...)
	span.SetStatus(codes.Error, errorText(err))
}

// dispatch is the built-in tracing link of every dispatch chain, outside
// the user's middleware.
func (t *tracing) dispatch(next DispatchFunc) DispatchFunc {
	if !t.enabled() {
		return next
	}
	return func(ctx context.Context, m *OutgoingMessage) error {
		tracer := t.tracer()
		if tracer == nil {
			if trace.SpanContextFromContext(ctx).IsValid() {
				injectTrace(ctx, m.Msg.Header)
			}
			return next(ctx, m)
		}
		return producerSpan(ctx, tracer, m, next)
	}
}

// producerSpan runs next in a send or publish span of kind producer,
// whose context the message carries in its traceparent and tracestate
// headers. From a [Batch] and a handler, next returns once the message is
// handed over, so the span ends before JetStream stored it.
func producerSpan(ctx context.Context, tracer trace.Tracer, m *OutgoingMessage, next DispatchFunc) error {
	op := operationName(m)
	name, attrs := op+" "+m.Msg.Subject, producerAttrs(m, op)
	if temporaryDestination(m) {
		name, attrs = op+" (temporary)", append(attrs, semconv.MessagingDestinationTemporary(true))
	}
	ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	defer span.End()
	injectTrace(ctx, m.Msg.Header)
	err := next(ctx, m)
	if err != nil && span.IsRecording() {
		recordFailure(span, err, sendErrorType(err))
	}
	return err
}

// temporaryDestination reports whether m goes to a subject outside
// gobus's, such as a requesting client's inbox: one per request, too many
// to name spans after.
func temporaryDestination(m *OutgoingMessage) bool {
	prefix := m.client.names.Prefix
	s := m.Msg.Subject
	return !(len(s) > len(prefix) && s[len(prefix)] == '.' && s[:len(prefix)] == prefix)
}

// sendErrorType is error.type of a failed send: "too-large" for a message
// larger than the server takes, else the error's Go type.
func sendErrorType(err error) string {
	if errors.Is(err, ErrTooLarge) {
		return kindTooLarge
	}
	return errorType(err)
}

// operationName is messaging.operation.name of an outgoing message: its
// intent, "send", "publish" or "reply".
func operationName(m *OutgoingMessage) string {
	if intent := m.Msg.Header.Get(wire.HeaderIntent); intent != "" {
		return intent
	}
	if m.Route.Kind == KindEvent {
		return string(wire.IntentPublish)
	}
	return string(wire.IntentSend)
}

func producerAttrs(m *OutgoingMessage, op string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		messagingNATS,
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName(op),
		semconv.MessagingDestinationName(m.Msg.Subject),
		semconv.MessagingMessageID(m.ID),
		semconv.MessagingMessageBodySize(len(m.Msg.Data)),
		semconv.CloudEventsEventType(m.Route.Type),
		semconv.CloudEventsEventSource(m.Msg.Header.Get(wire.HeaderSource)),
	}
	if id := m.Msg.Header.Get(wire.HeaderCorrelationID); id != "" {
		attrs = append(attrs, semconv.MessagingMessageConversationID(id))
	}
	return attrs
}
