package gobus

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/wire"
)

// BenchmarkMetricsHandling measures the metrics middleware alone, around a
// handler that does nothing, per message: without metrics, through the
// global MeterProvider with no SDK installed (the default), and through
// an SDK MeterProvider:
//
//	go test -run '^$' -bench MetricsHandling -benchmem ./runtime
func BenchmarkMetricsHandling(b *testing.B) {
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	for _, bc := range []struct {
		name string
		cfg  metricsConfig
	}{
		{"off", metricsConfig{off: true}},
		{"no-sdk", metricsConfig{}},
		{"sdk", metricsConfig{provider: sdk}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchmarkMetrics(b, bc.cfg)
		})
	}
}

func benchmarkMetrics(b *testing.B, cfg metricsConfig) {
	h, mc := metricsHandler(cfg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := h(ctx, mc, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The metrics middleware allocates nothing per message, with or without
// an SDK.
func TestMetricsHandlingAllocatesNothing(t *testing.T) {
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	for name, cfg := range map[string]metricsConfig{"no-sdk": {}, "sdk": {provider: sdk}} {
		h, mc := metricsHandler(cfg)
		ctx := context.Background()
		if n := testing.AllocsPerRun(100, func() { _ = h(ctx, mc, nil) }); n != 0 {
			t.Errorf("%s: %v allocations per message", name, n)
		}
	}
}

// metricsHandler is a handler that does nothing, in the metrics
// middleware of an endpoint that was not started, and a message for it.
func metricsHandler(cfg metricsConfig) (Handler, *MessageContext) {
	cfg.depthSet = true // no queue depth reader: there is no server
	ep := &Endpoint{
		client:   &Client{cfg: clientConfig{metrics: cfg}},
		name:     "worker",
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		handlers: map[string]*registration{"bench.v1.Work": {subject: "gobus.cmd.worker.bench.v1.Work"}},
	}
	h := ep.newMetrics().handling(func(context.Context, *MessageContext, proto.Message) error { return nil })
	return h, &MessageContext{ep: ep, env: &wire.Envelope{Type: "bench.v1.Work", Time: time.Now()}}
}
