package gobus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"sort"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Metrics go to the MeterProvider given, here an SDK one read on demand;
// a program would give it a periodic reader with an OTLP exporter, or the
// Prometheus exporter, or set it as the global provider, which gobus uses
// by default.
func ExampleWithMeterProvider() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gobus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)

	client, err := gobus.Connect(ctx,
		gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: dir}),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		gobus.WithMeterProvider(provider),
		gobus.WithQueueDepthInterval(0)) // no gobus.queue.depth in this example
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	done := make(chan struct{})
	worker, err := gobus.NewEndpoint(client, "worker")
	if err != nil {
		log.Fatal(err)
	}
	err = gobustestv1.RegisterWorkHandler(worker, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		close(done)
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}
	if err := worker.Start(ctx); err != nil {
		log.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, client, &gobustestv1.Work{Id: "w-1"}); err != nil {
		log.Fatal(err)
	}
	<-done
	if err := worker.Stop(ctx); err != nil { // waits for the handling to end
		log.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name+" ("+m.Unit+")")
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// gobus.critical_time (s)
	// gobus.in_flight.messages ({message})
	// messaging.client.consumed.messages ({message})
	// messaging.process.duration (s)
}
