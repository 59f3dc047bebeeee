package gobus_test

import (
	"context"
	"strconv"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// BenchmarkBatchSend is the cost of sending one command through a Batch,
// acknowledgement included, on an in-process server (whose work counts
// too: compare runs, and read the client's share in a profile):
//
//	go test -run '^$' -bench BatchSend -benchmem -cpuprofile send.prof ./runtime
func BenchmarkBatchSend(b *testing.B) {
	url := newServerURLB(b)
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithLogger(testLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	ep, err := gobus.NewEndpoint(c, "worker")
	if err != nil {
		b.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil })); err != nil {
		b.Fatal(err)
	}
	// The queue stream exists once the endpoint has installed it; the
	// endpoint is not started, so what is sent stays queued.
	if err := ep.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if err := ep.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	batch := c.NewBatch(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := gobustestv1.SendWork(ctx, batch, &gobustestv1.Work{Id: strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := batch.Wait(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBatchSendOne is the cost of a batch of one: a new Batch, one
// command sent through it and its Wait, as the latency benchmark and
// short batches use it; the server's work counts too:
//
//	go test -run '^$' -bench BatchSendOne -benchmem ./runtime
func BenchmarkBatchSendOne(b *testing.B) {
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(newServerURLB(b)), gobus.WithLogger(testLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	// The installer made the worker's queue stream: what is sent stays
	// queued, no endpoint takes it.
	w := &gobustestv1.Work{Id: "one"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		batch := c.NewBatch(0)
		if err := gobustestv1.SendWork(ctx, batch, w); err != nil {
			b.Fatal(err)
		}
		if _, err := batch.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
