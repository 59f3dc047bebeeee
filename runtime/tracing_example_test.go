package gobus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A client records its spans with the tracer provider it is given; without
// the option, with the global one (otel.SetTracerProvider). A send is a
// producer span; its handling a consumer span, the send's child, in the
// same trace, however many processes apart.
func ExampleWithTracerProvider() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gobus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// In a program: an exporter to a collector; here, a recorder.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)

	client, err := gobus.Connect(ctx,
		gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: dir}),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		gobus.WithTracerProvider(tp))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	worker, err := gobus.NewEndpoint(client, "worker")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
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
	// Stop waits until the handling, and its span, ended.
	if err := worker.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	var send, process sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		switch s.SpanKind() {
		case trace.SpanKindProducer:
			send = s
		case trace.SpanKindConsumer:
			process = s
		}
	}
	fmt.Println(send.SpanKind(), send.Name())
	fmt.Println(process.SpanKind(), process.Name())
	fmt.Println("same trace:", process.SpanContext().TraceID() == send.SpanContext().TraceID())
	fmt.Println("child of the send:", process.Parent().SpanID() == send.SpanContext().SpanID())
	// Output:
	// producer send gobus.cmd.worker.gobustest.v1.Work
	// consumer process gobus.cmd.worker.gobustest.v1.Work
	// same trace: true
	// child of the send: true
}
