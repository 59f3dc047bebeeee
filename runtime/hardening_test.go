package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/wire"
	gobus "github.com/gobusdev/gobus/runtime"
)

// brokenError's Error method reads a field: on a typed nil pointer it
// panics, as a careless user error type does.
type brokenError struct{ reason string }

func (e *brokenError) Error() string { return "broken: " + e.reason }

// explodingError's Error method panics outright.
type explodingError struct{}

func (explodingError) Error() string { panic("Error() exploded") }

// An error value whose Error method panics does not kill the process: the
// message reaches the error stream with a description of what happened,
// and the endpoint goes on handling messages.
func TestErrorValuesThatPanicDoNotKillTheEndpoint(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	handled := make(chan string, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			switch w.GetId() {
			case "typed-nil":
				var e *brokenError
				return e
			case "exploding":
				return explodingError{}
			case "unrecoverable-typed-nil":
				var e *brokenError
				return gobus.Unrecoverable(e)
			}
			handled <- w.GetId()
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 1}))
	ctx := context.Background()
	for _, id := range []string{"typed-nil", "exploding", "unrecoverable-typed-nil"} {
		if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three messages in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 3 })
	for _, m := range errorStreamMessages(t, c) {
		text := m.Header.Get(wire.HeaderErrorMessage)
		if !strings.Contains(text, "Error method panicked") {
			t.Errorf("error message %q does not say the error value's Error method panicked", text)
		}
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "healthy"}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, handled, "a healthy message after the broken errors"); got != "healthy" {
		t.Errorf("handled %q", got)
	}
}

// A handler's context ends at its max handling time with a TimeoutError
// as the cause, and the try counts as a failure under the retry policy. A
// handler that ignores its context is given up: its message is no longer
// kept in progress, and is retried (here by the same instance, on another
// worker) long before the ack wait.
func TestMaxHandlingTime(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	var mu sync.Mutex
	causes := map[string][]error{}
	succeeded := make(chan string, 2)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			if mc.Delivery() > 1 {
				succeeded <- w.GetId()
				return nil
			}
			if w.GetId() == "ignores-context" {
				<-stuck
				return nil
			}
			<-ctx.Done()
			mu.Lock()
			causes[w.GetId()] = append(causes[w.GetId()], context.Cause(ctx))
			mu.Unlock()
			return ctx.Err()
		}))
	},
		gobus.WithAckWait(30*time.Second),
		gobus.WithConcurrency(4),
		gobus.WithMaxHandlingTime(200*time.Millisecond),
		gobus.WithRetryPolicy(gobus.RetryPolicy{Delayed: 1, Delay: 50 * time.Millisecond, MaxDelay: time.Second}))
	start := time.Now()
	for _, id := range []string{"watches-context", "ignores-context"} {
		if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{receive(t, succeeded, "a retried message"): true, receive(t, succeeded, "a retried message"): true}
	if !got["watches-context"] || !got["ignores-context"] {
		t.Errorf("retried %v, want both messages", got)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the retries took %s; the ack wait of 30s must not be what brought them back", took)
	}
	mu.Lock()
	defer mu.Unlock()
	var te *gobus.TimeoutError
	if cs := causes["watches-context"]; len(cs) != 1 || !errors.As(cs[0], &te) || te.Limit != 200*time.Millisecond {
		t.Errorf("the handler's context ended with causes %v, want one TimeoutError of 200ms", cs)
	}
}

// A handler past its max handling time on its last try moves to the error
// stream as a timeout.
func TestMaxHandlingTimeOnTheLastTryMovesToErrors(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			<-stuck
			return nil
		}))
	}, gobus.WithMaxHandlingTimeFor(gobustestv1.WorkType, 100*time.Millisecond), gobus.WithRetryPolicy(gobus.NoRetries()))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "stuck"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stuck message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	if kind := errorStreamMessages(t, c)[0].Header.Get(wire.HeaderErrorKind); kind != "timeout" {
		t.Errorf("error kind %q, want timeout", kind)
	}
}

// After Stop gives up on a handler that ignores its context, the message
// is no longer reported in progress: another instance gets it within one
// ack wait, while the abandoned handler still runs.
func TestStopAbandonsHandlersThatIgnoreTheirContext(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	running := make(chan struct{}, 1)
	const ackWait = 2 * time.Second
	first := startEndpoint(t, connect(t, url), "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			running <- struct{}{}
			<-stuck
			return nil
		}))
	}, gobus.WithAckWait(ackWait))
	c := connect(t, url)
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "abandoned"}); err != nil {
		t.Fatal(err)
	}
	receive(t, running, "the handler running")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := first.Stop(ctx); err == nil || !strings.Contains(err.Error(), "1 handlers still running") {
		t.Errorf("Stop = %v, want it to say one handler still runs", err)
	}
	stopped := time.Now()
	again := make(chan string, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			again <- w.GetId()
			return nil
		}))
	}, gobus.WithAckWait(ackWait))
	receive(t, again, "the abandoned message at another instance")
	if took := time.Since(stopped); took > ackWait+2*time.Second {
		t.Errorf("another instance got the abandoned message %s after Stop, want within the ack wait of %s", took, ackWait)
	}
}

// Two endpoints handling one event and each publishing an equal message
// store two messages: the derived ids include the endpoint.
func TestEqualOutputsOfTwoEndpointsAreBothStored(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	const n = 10
	for _, name := range []string{"left", "right"} {
		startEndpoint(t, c, name, func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
				return gobustestv1.PublishWorkAudited(ctx, mc, &gobustestv1.WorkAudited{Entry: e.GetId()})
			}))
		})
	}
	for i := range n {
		if err := gobustestv1.PublishWorkDone(context.Background(), c, &gobustestv1.WorkDone{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	audited := func() uint64 {
		subject := "gobus.evt." + gobustestv1.WorkAuditedType
		info, err := mustStream(t, c, "gobus_events").Info(context.Background(), jetstream.WithSubjectFilter(subject))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Subjects[subject]
	}
	waitFor(t, "both endpoints' WorkAudited stored", func() bool { return audited() >= 2*n })
	if got := audited(); got != 2*n {
		t.Errorf("%d WorkAudited stored, want %d", got, 2*n)
	}
}

// When the NATS connection is closed for good, Run ends with
// ErrConnectionClosed instead of trying to reopen its consumers forever,
// and sends fail with it.
func TestClosedConnectionEndsRunAndFailsSends(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ep, err := gobus.NewEndpoint(c, "worker")
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan struct{}, 1)
	if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		handled <- struct{}{}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { ran <- ep.Run(ctx) }()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "first"}); err != nil {
		t.Fatal(err)
	}
	receive(t, handled, "a message handled by the running endpoint")
	c.Conn().Close()
	if err := receive(t, ran, "Run to end"); !errors.Is(err, gobus.ErrConnectionClosed) {
		t.Errorf("Run = %v, want ErrConnectionClosed", err)
	}
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "late"}); !errors.Is(err, gobus.ErrConnectionClosed) {
		t.Errorf("SendWork = %v, want ErrConnectionClosed", err)
	}
	if err := gobustestv1.SendWork(context.Background(), c.NewBatch(0), &gobustestv1.Work{Id: "late"}); !errors.Is(err, gobus.ErrConnectionClosed) {
		t.Errorf("a batch's SendWork = %v, want ErrConnectionClosed", err)
	}
}

// Attempt counts every call of the handler, Delivery the server's
// deliveries.
func TestAttemptAndDelivery(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	type call struct{ attempt, delivery int }
	calls := make(chan call, 10)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			calls <- call{mc.Attempt(), mc.Delivery()}
			if mc.Delivery() < 2 {
				return errors.New("not yet")
			}
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 3, Delayed: 1, Delay: 10 * time.Millisecond, MaxDelay: time.Second}))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "counted"}); err != nil {
		t.Fatal(err)
	}
	want := []call{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 2}}
	for i, w := range want {
		if got := receive(t, calls, fmt.Sprintf("call %d", i+1)); got != w {
			t.Errorf("call %d: Attempt, Delivery = %d, %d; want %d, %d", i+1, got.attempt, got.delivery, w.attempt, w.delivery)
		}
	}
}

// Stop while the server is down returns at once when no handler runs, and
// says so only once in the log however often it is called.
func TestStopWhileTheServerIsDown(t *testing.T) {
	t.Parallel()
	ns := natstest.RunServer(t)
	url := ns.ClientURL()
	var logs natstest.LockedBuffer
	c := connect(t, url, gobus.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ep := startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error { return nil }))
	})
	ns.Shutdown()
	ns.WaitForShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	for range 3 {
		if err := ep.Stop(ctx); err != nil {
			t.Errorf("Stop with no handler running = %v", err)
		}
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Stop took %s with no handler running", took)
	}
	if n := strings.Count(logs.String(), "endpoint stopped"); n != 1 {
		t.Errorf("logged %q %d times, want once", "endpoint stopped", n)
	}
}

// A Batch says which of its messages JetStream dropped as duplicates.
func TestBatchReportsDuplicates(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ctx := context.Background()
	b := c.NewBatch(0)
	for _, id := range []string{"once", "twice", "once"} {
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: id}, gobus.WithMessageID("id-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	results, err := b.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dup []bool
	for _, r := range results {
		dup = append(dup, r.Duplicate)
	}
	if fmt.Sprint(dup) != "[false false true]" {
		t.Errorf("Duplicate flags %v, want [false false true]", dup)
	}
}

// Every try gets its own max handling time: an immediate retry after a
// timeout is watched again, and times out again.
func TestMaxHandlingTimeAppliesToEveryTry(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	tries := make(chan int, 4)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			tries <- mc.Attempt()
			<-ctx.Done()
			return ctx.Err()
		}))
	}, gobus.WithMaxHandlingTime(100*time.Millisecond), gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 1}))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "slow"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	if kind := errorStreamMessages(t, c)[0].Header.Get(wire.HeaderErrorKind); kind != "timeout" {
		t.Errorf("error kind %q, want timeout", kind)
	}
	if n := len(tries); n != 2 {
		t.Errorf("%d tries, want 2 (the first and one immediate retry)", n)
	}
}

// Close stops every running endpoint before it closes the connection, even
// though each Stop releases its endpoint from the client.
func TestCloseStopsEveryEndpoint(t *testing.T) {
	t.Parallel()
	var logs natstest.LockedBuffer
	c, err := gobus.Connect(context.Background(), gobus.WithURL(newServerURL(t)), gobus.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "two", "three"} {
		startEndpoint(t, c, name, func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error { return nil }))
		})
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "endpoint stopped"); n != 3 {
		t.Errorf("%d endpoints stopped, want 3; log:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "reopening") {
		t.Errorf("an endpoint was left running when the connection closed; log:\n%s", logs.String())
	}
}
