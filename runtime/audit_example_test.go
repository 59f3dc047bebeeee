package gobus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// With auditing on, every message an endpoint handles leaves a record of
// its headers and processing times in the audit stream; a conversation's
// records are on the subjects gobus.audit.<endpoint>.<correlation id>.
func ExampleWithAudit() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gobus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	client, err := gobus.Connect(ctx,
		gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: dir}),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		gobus.WithAudit(), // every endpoint of this client; or on NewEndpoint for one
		gobus.WithAuditRetention(6*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	done := make(chan struct{})
	worker, _ := gobus.NewEndpoint(client, "worker")
	_ = gobustestv1.RegisterWorkHandler(worker, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
	}))
	watcher, _ := gobus.NewEndpoint(client, "watcher")
	_ = gobustestv1.RegisterWorkDoneHandler(watcher, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error {
		close(done)
		return nil
	}))
	for _, ep := range []*gobus.Endpoint{worker, watcher} {
		if err := ep.Start(ctx); err != nil {
			log.Fatal(err)
		}
	}
	if err := gobustestv1.SendWork(ctx, client, &gobustestv1.Work{Id: "w-1"}, gobus.WithCorrelationID("order-1")); err != nil {
		log.Fatal(err)
	}
	<-done
	for _, ep := range []*gobus.Endpoint{worker, watcher} {
		_ = ep.Stop(ctx) // waits for the handlers, then stores the records queued
	}

	// Read the conversation's records as any NATS client would.
	cons, err := client.JetStream().OrderedConsumer(ctx, "gobus_audit", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"gobus.audit.*.order-1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	var records []jetstream.Msg
	for m := range batch.Messages() {
		records = append(records, m)
	}
	sort.Slice(records, func(i, j int) bool {
		return records[i].Headers().Get("gobus-audit-started") < records[j].Headers().Get("gobus-audit-started")
	})
	for _, m := range records {
		h := m.Headers()
		fmt.Println(h.Get("gobus-audit-endpoint"), h.Get("ce-type"), len(m.Data()), "bytes of body")
	}
	// Output:
	// worker gobustest.v1.Work 0 bytes of body
	// watcher gobustest.v1.WorkDone 0 bytes of body
}
