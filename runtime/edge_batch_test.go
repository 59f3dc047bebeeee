package gobus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A batch on an edge client sends what is for the hub through the
// forward stream and what is for the edge's own endpoint to it, and
// reports every outcome, in order: a retried send with the same id is a
// duplicate in either case.
func TestEdgeBatch(t *testing.T) {
	ctx := context.Background()
	hub := natstest.RunHub(t, "hub")
	central := connect(t, hub.ClientURL())
	work, ticks := newCounter(), newCounter()
	startEndpoint(t, central, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			work.add(w.GetId())
			return nil
		}))
	})
	edge := connectEdge(t, hub, t.TempDir(), "ticker")
	startEndpoint(t, edge, "ticker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterTickerHandler(ep, tickerFunc(func(ctx context.Context, mc *gobus.MessageContext, tk *gobustestv1.Tick) error {
			ticks.add(tk.GetId())
			return nil
		}))
	})

	b := edge.NewBatch(4)
	const n = 10
	for i := range n {
		id := fmt.Sprint(i % (n - 1)) // the last is a retry of the first
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: id}, gobus.WithMessageID("work-"+id)); err != nil {
			t.Fatal(err)
		}
		if err := gobustestv1.SendTick(ctx, b, &gobustestv1.Tick{Id: id}, gobus.WithMessageID("tick-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	results, err := b.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2*n {
		t.Fatalf("%d results for %d messages", len(results), 2*n)
	}
	for i, r := range results {
		id := fmt.Sprint((i / 2) % (n - 1))
		want := gobus.Result{MessageID: "work-" + id, Type: gobustestv1.WorkType, Duplicate: i/2 == n-1}
		if i%2 == 1 {
			want.MessageID, want.Type = "tick-"+id, gobustestv1.TickType
		}
		if r != want {
			t.Errorf("result %d: %+v, want %+v", i, r, want)
		}
	}
	waitFor(t, "the hub's worker to handle the edge's commands", func() bool { return work.distinct() == n-1 })
	waitFor(t, "the edge's ticker to handle its own commands", func() bool { return ticks.distinct() == n-1 })
	if work.sum() != n-1 || ticks.sum() != n-1 {
		t.Errorf("handled %d commands and %d ticks, want %d each", work.sum(), ticks.sum(), n-1)
	}
}
