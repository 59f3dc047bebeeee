package gobus

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// tracingBench is a handled message and an outgoing one, without a
// server, for the cost of the tracing links alone.
func tracingBench(traceparent string) (*MessageContext, *OutgoingMessage) {
	c := &Client{names: topology.Names{Prefix: "gobus"}}
	ep := &Endpoint{client: c, name: "worker"}
	env := &wire.Envelope{ID: "id-1", Type: "gobustest.v1.Work", Source: "bench", CorrelationID: "id-1", TraceParent: traceparent, Data: []byte("body")}
	mc := &MessageContext{ep: ep, env: env, headers: nats.Header{}, subject: "gobus.cmd.worker.gobustest.v1.Work", attempt: 1, delivery: 1}
	msg := nats.NewMsg("gobus.evt.gobustest.v1.WorkDone")
	msg.Header.Set(wire.HeaderIntent, "publish")
	out := &OutgoingMessage{Outgoing: Outgoing{Route: Route{Type: "gobustest.v1.WorkDone", Kind: KindEvent}}, ID: "id-2", Msg: msg}
	return mc, out
}

func benchHandling(b *testing.B, t *tracing, traceparent string) {
	mc, out := tracingBench(traceparent)
	d := t.dispatch(func(context.Context, *OutgoingMessage) error { return nil })
	h := t.handling(func(ctx context.Context, mc *MessageContext, _ proto.Message) error {
		return d(ctx, out)
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := h(ctx, mc, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The tracing links around one handled message that sends one, with no
// SDK installed (the global provider unset), a no-op provider, tracing
// off, and an SDK recording every span:
//
//	go test -run '^$' -bench TracingLinks -benchmem ./runtime
func BenchmarkTracingLinks(b *testing.B) {
	b.Run("no-sdk", func(b *testing.B) { benchHandling(b, nil, "") })
	b.Run("no-sdk-incoming-traceparent", func(b *testing.B) {
		benchHandling(b, nil, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	})
	b.Run("noop-provider", func(b *testing.B) { benchHandling(b, &tracing{provider: noop.NewTracerProvider()}, "") })
	b.Run("off", func(b *testing.B) { benchHandling(b, &tracing{off: true}, "") })
	b.Run("sdk-always-sample", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider() // no exporter: spans are recorded and dropped
		defer func() { _ = tp.Shutdown(context.Background()) }()
		benchHandling(b, &tracing{provider: tp}, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	})
}

// Without an SDK, the tracing links allocate nothing for a message that
// carries no trace context.
func TestTracingWithoutSDKAllocatesNothing(t *testing.T) {
	for _, tr := range []*tracing{nil, {provider: noop.NewTracerProvider()}, {off: true}} {
		mc, out := tracingBench("")
		d := tr.dispatch(func(context.Context, *OutgoingMessage) error { return nil })
		h := tr.handling(func(ctx context.Context, mc *MessageContext, _ proto.Message) error { return d(ctx, out) })
		ctx := context.Background()
		if n := testing.AllocsPerRun(100, func() { _ = h(ctx, mc, nil) }); n != 0 {
			t.Errorf("%+v: %v allocations per message, want 0", tr, n)
		}
		if out.Msg.Header.Get("traceparent") != "" {
			t.Errorf("%+v: wrote a traceparent with no trace", tr)
		}
	}
}
