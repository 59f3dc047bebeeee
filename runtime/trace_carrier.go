package gobus

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/gobusdev/gobus/internal/wire"
)

// headerCarrier is a NATS message's headers as an OpenTelemetry carrier.
// NATS headers are case-sensitive, so keys are written and read exactly
// as the propagator names them: "traceparent", not the "Traceparent" of
// OpenTelemetry's HeaderCarrier, which follows HTTP's canonical form.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }

func (c headerCarrier) Set(key, value string) { c[key] = []string{value} }

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// incomingCarrier is a handled message's headers as a carrier. It reads
// the trace context from the envelope, which has it from the headers of a
// binary-mode message and from the extensions of a structured-mode one.
type incomingCarrier struct{ mc *MessageContext }

func (c incomingCarrier) Get(key string) string {
	switch key {
	case wire.HeaderTraceParent:
		return c.mc.env.TraceParent
	case wire.HeaderTraceState:
		return c.mc.env.TraceState
	}
	return c.mc.headers.Get(key)
}

// Set does nothing: an incoming message is not changed.
func (c incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string { return headerCarrier(c.mc.headers).Keys() }

// wirePropagator is how gobus carries a trace across the bus: W3C trace
// context always, because traceparent and tracestate are part of the wire
// contract (docs/wire.md) and a trace must cross gobus even where the
// program set no global propagator; then whatever the global propagator
// adds, such as baggage.
type wirePropagator struct{}

var _ propagation.TextMapPropagator = wirePropagator{}

func (wirePropagator) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	propagation.TraceContext{}.Inject(ctx, c)
	otel.GetTextMapPropagator().Inject(ctx, c)
}

func (wirePropagator) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	ctx = propagation.TraceContext{}.Extract(ctx, c)
	return otel.GetTextMapPropagator().Extract(ctx, c)
}

func (wirePropagator) Fields() []string {
	return append(propagation.TraceContext{}.Fields(), otel.GetTextMapPropagator().Fields()...)
}

// injectTrace writes the trace context of ctx into the headers of an
// outgoing message.
func injectTrace(ctx context.Context, h nats.Header) {
	wirePropagator{}.Inject(ctx, headerCarrier(h))
}

// extractTrace returns ctx with the trace context the handled message
// carries, if any, as the remote parent.
func extractTrace(ctx context.Context, mc *MessageContext) context.Context {
	return wirePropagator{}.Extract(ctx, incomingCarrier{mc})
}
