package gobus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// With a limit of N, never more than N handlers run at once, and N do.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	const limit, n = 3, 12
	var mu sync.Mutex
	running, peak := 0, 0
	gate := make(chan struct{})
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			<-gate
			mu.Lock()
			running--
			mu.Unlock()
			handled.add(w.GetId())
			return nil
		}))
	}, gobus.WithConcurrency(limit))
	for i := range n {
		if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the limit reached", func() bool { mu.Lock(); defer mu.Unlock(); return running == limit })
	close(gate)
	waitFor(t, "all handled", func() bool { return handled.distinct() == n })
	mu.Lock()
	defer mu.Unlock()
	if peak != limit {
		t.Errorf("peak concurrency %d, want %d", peak, limit)
	}
}

// Stop waits for running handlers until its deadline, then cancels them.
// Handlers that succeeded are acknowledged; the others' messages are
// delivered again to the next instance, none lost, none acked unhandled.
func TestStopWaitsThenCancelsAndLosesNothing(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	first := connect(t, url)
	const n = 50
	running := newCounter()
	release := make(chan struct{})
	firstDone := newCounter()
	ep := startEndpoint(t, first, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			running.add(w.GetId())
			if w.GetFailTimes() == 0 { // finishes once released
				<-release
				firstDone.add(w.GetId())
				return nil
			}
			<-ctx.Done() // runs until Stop gives up on it
			return ctx.Err()
		}))
	}, gobus.WithConcurrency(n))
	for i := range n {
		if err := gobustestv1.SendWork(context.Background(), first, &gobustestv1.Work{Id: fmt.Sprint(i), FailTimes: int32(i % 2)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all handlers running", func() bool { return running.distinct() == n })

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- ep.Stop(ctx) }()
	close(release)
	if err := receive(t, stopped, "Stop"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(start); took > deadline+time.Second {
		t.Errorf("Stop took %s with a deadline of %s", took, deadline)
	}
	if err := ep.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if firstDone.distinct() != n/2 {
		t.Fatalf("%d handlers finished before the deadline, want %d", firstDone.distinct(), n/2)
	}

	second := newCounter()
	startEndpoint(t, connect(t, url), "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			second.add(w.GetId())
			return nil
		}))
	})
	waitFor(t, "the cancelled messages redelivered", func() bool { return second.distinct() == n/2 })
	for i := range n {
		id := fmt.Sprint(i)
		if got := firstDone.count(id) + second.count(id); got != 1 {
			t.Errorf("work %s completed %d times, want once", id, got)
		}
	}
}

// Run handles messages until its context ends, then stops the endpoint.
func TestRunStopsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ep, err := gobus.NewEndpoint(c, "worker")
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 1)
	if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		handled <- w.GetId()
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ep.Run(ctx) }()
	// Run has started once a sent message is handled.
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	receive(t, handled, "the message")
	cancel()
	if err := receive(t, ran, "Run to return"); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// With a limit of 1, where the pump runs each handler on the goroutine
// that delivers the message, commands and events (two consumers) still
// take turns: never two handlers at once, and every message handled.
func TestConcurrencyOneIsSharedByCommandsAndEvents(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	const n = 20
	var mu sync.Mutex
	running, peak := 0, 0
	handled := newCounter()
	enter := func(id string) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		handled.add(id)
	}
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			enter("work " + w.GetId())
			return nil
		})); err != nil {
			return err
		}
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			enter("done " + e.GetId())
			return nil
		}))
	}, gobus.WithConcurrency(1))
	for i := range n {
		if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if err := gobustestv1.PublishWorkDone(context.Background(), c, &gobustestv1.WorkDone{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all handled", func() bool { return handled.distinct() == 2*n })
	mu.Lock()
	defer mu.Unlock()
	if peak != 1 {
		t.Errorf("peak concurrency %d, want 1", peak)
	}
}

// With a limit of 1, Stop still waits for the running handler until its
// deadline, then cancels it, and hands the prefetched messages back:
// another instance handles each message once.
func TestStopWithConcurrencyOne(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	first := connect(t, url)
	const n = 10
	started := make(chan string, n)
	firstDone := newCounter()
	ep := startEndpoint(t, first, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			started <- w.GetId()
			if w.GetId() == "0" {
				firstDone.add(w.GetId())
				return nil
			}
			<-ctx.Done() // runs until Stop gives up on it
			return ctx.Err()
		}))
	}, gobus.WithConcurrency(1))
	for i := range n {
		if err := gobustestv1.SendWork(context.Background(), first, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	receive(t, started, "the first handler")
	receive(t, started, "the second handler")
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	if err := ep.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(start); took < deadline || took > deadline+time.Second {
		t.Errorf("Stop took %s with a deadline of %s and a handler that waits for it", took, deadline)
	}
	if err := ep.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	second := newCounter()
	startEndpoint(t, connect(t, url), "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			second.add(w.GetId())
			return nil
		}))
	})
	waitFor(t, "the other messages at the next instance", func() bool { return second.distinct() == n-1 })
	for i := range n {
		id := fmt.Sprint(i)
		if got := firstDone.count(id) + second.count(id); got != 1 {
			t.Errorf("work %s completed %d times, want once", id, got)
		}
	}
}
