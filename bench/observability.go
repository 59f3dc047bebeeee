package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	gobus "github.com/gobusdev/gobus/runtime"
)

// observabilityVariant is one way to run the pump: tracing and metrics
// off, on without an SDK (the default), or on with an SDK that samples
// every span and collects every measurement.
type observabilityVariant struct {
	name string
	opts func() []gobus.Option
}

var observabilityVariants = []observabilityVariant{
	{"off", func() []gobus.Option { return []gobus.Option{gobus.WithoutTracing(), gobus.WithoutMetrics()} }},
	{"no SDK", func() []gobus.Option { return nil }},
	{"SDK, 100% sampled", func() []gobus.Option {
		return []gobus.Option{
			gobus.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))),
			gobus.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
		}
	}},
}

// observabilityResult is the pump's throughput and allocations per
// handled message with one variant.
type observabilityResult struct {
	name   string
	pump   float64
	allocs float64
}

// observability runs the pump with each variant, each on a client of its
// own (which also fills the queue, so that traced runs carry trace
// context), rounds interleaved.
func (b *bench) observability(ctx context.Context, url string) ([]observabilityResult, error) {
	benches := make([]*bench, len(observabilityVariants))
	workloads := make([]func(context.Context) (float64, error), len(observabilityVariants))
	for i, v := range observabilityVariants {
		opts := append([]gobus.Option{gobus.WithURL(url), gobus.WithSource("bench"),
			gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, v.opts()...)
		c, err := gobus.Connect(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		defer c.Close(ctx)
		benches[i] = &bench{cfg: b.cfg, client: c, js: c.JetStream()}
		benches[i].cfg.profile = ""
		workloads[i] = benches[i].gobusPump
	}
	pumps, err := b.rounds(ctx, workloads...)
	if err != nil {
		return nil, err
	}
	out := make([]observabilityResult, len(benches))
	for i, bb := range benches {
		a, err := bb.gobusAllocs(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = observabilityResult{name: observabilityVariants[i].name, pump: pumps[i], allocs: a}
	}
	return out, nil
}

// printObservability writes the variants' rows, relative to "off".
func printObservability(out io.Writer, rs []observabilityResult) {
	fmt.Fprintf(out, "\nobservability (pump)          %12s %8s %8s\n", "msgs/s", "vs off", "allocs")
	for _, r := range rs {
		fmt.Fprintf(out, "  %-27s %10.0f/s %8.2f %8.1f\n", r.name, r.pump, r.pump/rs[0].pump, r.allocs)
	}
}
