package gobus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// 10,000 ticks due in the same second all arrive, once each, none early.
// The time from their due time to the last arrival is docs/performance.md's
// figure:
//
//	go test -race -run TestTenThousandSchedulesDueAtOnce -v ./runtime/
func TestTenThousandSchedulesDueAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,000 scheduled messages")
	}
	const n = 10_000
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startEndpoint(t, c, "ticker", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterTickerHandler(ep, tk) },
		gobus.WithConcurrency(64))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	due := start.Add(20 * time.Second).Truncate(time.Second)
	b := c.NewBatch(0)
	for i := range n {
		if err := gobustestv1.SendTick(ctx, b, &gobustestv1.Tick{Id: fmt.Sprint(i)}, gobus.At(due)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	scheduled := time.Since(start)
	if time.Now().After(due) {
		t.Fatalf("scheduling took %v, past the due time: the test proves nothing", scheduled)
	}
	for range n {
		select {
		case <-tk.arrived:
		case <-ctx.Done():
			t.Fatalf("%d of %d ticks arrived", len(tk.at), n)
		}
	}
	drained := time.Since(due)
	for i := range n {
		id := fmt.Sprint(i)
		if got := tk.count(id); got != 1 {
			t.Errorf("tick %s arrived %d times", id, got)
		}
		if tk.first(id).Before(due) {
			t.Errorf("tick %s arrived %v early", id, due.Sub(tk.first(id)))
		}
	}
	if n := schedulesOf(t, c, "ticker"); n != 0 {
		t.Errorf("%d schedules left", n)
	}
	t.Logf("%d ticks scheduled in %v, all due at %s; the last arrived %v after it (%.0f msg/s)",
		n, scheduled.Round(time.Millisecond), due.Format(time.TimeOnly), drained.Round(time.Millisecond), float64(n)/drained.Seconds())
}
