package gobus_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// BenchmarkSlowHandlers shows throughput scaling with the concurrency
// limit when handlers wait on I/O (here 2ms each):
//
//	go test -run '^$' -bench SlowHandlers ./runtime
func BenchmarkSlowHandlers(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		b.Run("concurrency="+strconv.Itoa(n), func(b *testing.B) {
			benchmarkHandlers(b, n, 2*time.Millisecond)
		})
	}
}

func benchmarkHandlers(b *testing.B, concurrency int, work time.Duration) {
	url := newServerURLB(b)
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithLogger(testLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	var handled atomic.Int64
	ep, err := gobus.NewEndpoint(c, "worker", gobus.WithConcurrency(concurrency))
	if err != nil {
		b.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		time.Sleep(work) // the handler's I/O
		handled.Add(1)
		return nil
	})); err != nil {
		b.Fatal(err)
	}
	batch := c.NewBatch(0)
	for i := range b.N {
		if err := gobustestv1.SendWork(ctx, batch, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := batch.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := ep.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for handled.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	_ = ep.Stop(ctx)
}
