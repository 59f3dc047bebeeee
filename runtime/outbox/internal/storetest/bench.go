package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
)

// Bench measures an endpoint's throughput on s, one b.N of Work queued
// before the endpoint starts, as bench's pump workload does: "pump" with a
// handler that does nothing, "publish" with one that publishes a WorkDone,
// "outbox" with one that inserts a row and publishes a WorkDone through
// the outbox. Each reports msg/s; compare them with benchstat or by eye.
func Bench(b *testing.B, s Store) {
	ns := natstest.RunServer(b)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(ns.ClientURL()), gobus.WithLogger(log), outbox.Capture())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeWithin(b, c.Close) })
	db, _ := s.Open(b)
	if err := CreateEffects(ctx, db); err != nil {
		b.Fatal(err)
	}
	ob, err := outbox.New(ctx, c, db, s.Dialect, outbox.WithLogger(log))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeWithin(b, ob.Close) })
	var run atomic.Int64
	handlers := []struct {
		name   string
		opts   []gobus.EndpointOption
		handle func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error
	}{
		{"pump", nil, func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil }},
		{"publish", nil, func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}},
		{"outbox", []gobus.EndpointOption{ob.Endpoint()}, func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			if err := Effect(ctx, s.Dialect, w.GetId()); err != nil {
				return err
			}
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}},
	}
	for _, h := range handlers {
		b.Run(h.name, func(b *testing.B) {
			prefix := fmt.Sprintf("r%d-", run.Add(1))
			batch := c.NewBatch(256)
			for i := range b.N {
				id := prefix + fmt.Sprint(i)
				if err := gobustestv1.SendWork(ctx, batch, &gobustestv1.Work{Id: id}, gobus.WithMessageID(id)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := batch.Wait(ctx); err != nil {
				b.Fatal(err)
			}
			var handled atomic.Int64
			all := make(chan struct{})
			ep, err := gobus.NewEndpoint(c, "worker", h.opts...)
			if err != nil {
				b.Fatal(err)
			}
			err = gobustestv1.RegisterWorkHandler(ep, workHandler(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
				if err := h.handle(ctx, mc, w); err != nil {
					return err
				}
				if handled.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			}))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := ep.Start(ctx); err != nil {
				b.Fatal(err)
			}
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("%d of %d handled in 5 minutes", handled.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			closeWithin(b, ep.Stop)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
		})
	}
}

type workHandler func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error

func (f workHandler) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	return f(ctx, mc, w)
}
