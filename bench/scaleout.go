package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// scaleInstances are the instance counts of the scale-out workload.
var scaleInstances = []int{1, 2, 4}

// scaleResult is the throughput of instances instances of one endpoint.
type scaleResult struct {
	instances int
	rate      float64
}

// scaleOut runs 1, 2 and 4 instances of the worker endpoint, each on a
// client (a connection) of its own with concurrency handlers that take
// 2 ms each, and measures how fast they drain messages sent once they
// run: from the first send to the last message handled.
func scaleOut(ctx context.Context, url string, n, concurrency int) ([]scaleResult, error) {
	var out []scaleResult
	for _, k := range scaleInstances {
		rate, err := scaleRound(ctx, url, n, concurrency, k)
		if err != nil {
			return nil, fmt.Errorf("%d instances: %w", k, err)
		}
		out = append(out, scaleResult{instances: k, rate: rate})
	}
	return out, nil
}

func scaleRound(ctx context.Context, url string, n, concurrency, instances int) (float64, error) {
	var handled atomic.Int64
	all := make(chan struct{})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range instances {
		c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithSource("bench-scale"), gobus.WithLogger(logger))
		if err != nil {
			return 0, err
		}
		defer c.Close(ctx)
		ep, err := gobus.NewEndpoint(c, "worker", gobus.WithConcurrency(concurrency))
		if err != nil {
			return 0, err
		}
		err = gobustestv1.RegisterWorkHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error {
			time.Sleep(2 * time.Millisecond) // the handler's I/O
			if handled.Add(1) == int64(n) {
				close(all)
			}
			return nil
		}))
		if err != nil {
			return 0, err
		}
		if err := ep.Start(ctx); err != nil {
			return 0, err
		}
		defer ep.Stop(ctx)
	}
	sender, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithSource("bench-scale"), gobus.WithLogger(logger))
	if err != nil {
		return 0, err
	}
	defer sender.Close(ctx)
	b := &bench{client: sender, cfg: config{window: 256}}
	start := time.Now()
	if err := b.fillGobus(ctx, n); err != nil {
		return 0, err
	}
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("handled %d of %d", handled.Load(), n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// printScaleOut writes the scale-out rows.
func printScaleOut(out io.Writer, rs []scaleResult, n, concurrency int) {
	fmt.Fprintf(out, "\nscale-out: %d messages, 2 ms handlers, concurrency %d an instance\n", n, concurrency)
	for _, r := range rs {
		fmt.Fprintf(out, "  %d instance(s) %12.0f msgs/s %6.2f× one\n", r.instances, r.rate, r.rate/rs[0].rate)
	}
	for _, r := range rs {
		fmt.Fprintf(out, "scale %d %.0f\n", r.instances, r.rate)
	}
}
