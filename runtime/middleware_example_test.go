package gobus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"

	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Handling middleware wraps every handler of an endpoint; dispatch
// middleware wraps every message sent, here adding a header that the
// receiving handler reads.
func ExampleWithMiddleware() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gobus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	logging := func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			fmt.Println("before", mc.Type())
			err := next(ctx, mc, msg)
			fmt.Println("after", mc.Type(), "next step:", mc.NextStep(err))
			return err
		}
	}
	tenant := func(next gobus.DispatchFunc) gobus.DispatchFunc {
		return func(ctx context.Context, m *gobus.OutgoingMessage) error {
			m.Msg.Header.Set("x-tenant", "acme")
			return next(ctx, m)
		}
	}
	client, err := gobus.Connect(ctx,
		gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: dir}),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		gobus.WithDispatchMiddleware(tenant))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	done := make(chan struct{})
	worker, err := gobus.NewEndpoint(client, "worker", gobus.WithMiddleware(logging))
	if err != nil {
		log.Fatal(err)
	}
	err = gobustestv1.RegisterWorkHandler(worker, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		fmt.Println("handling", w.GetId(), "for tenant", mc.Header("x-tenant"))
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
	if err := worker.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// before gobustest.v1.Work
	// handling w-1 for tenant acme
	// after gobustest.v1.Work next step: ack
}
