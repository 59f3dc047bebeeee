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

// A command sent from outside reaches its endpoint; the event its handler
// publishes reaches a subscriber, carrying the conversation's correlation
// id and the command's id as causation.
func TestCommandHandledAndEventPublished(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ctx := context.Background()

	type seen struct{ id, source, correlation, causation, workID string }
	done := make(chan seen, 1)
	commandIDs := make(chan string, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			commandIDs <- mc.ID()
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	})
	startEndpoint(t, c, "listener", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			done <- seen{mc.ID(), mc.Source(), mc.CorrelationID(), mc.CausationID(), e.GetId()}
			return nil
		}))
	})

	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w-1"}, gobus.WithCorrelationID("conversation-1")); err != nil {
		t.Fatalf("SendWork: %v", err)
	}
	commandID := receive(t, commandIDs, "the Work command")
	got := receive(t, done, "the WorkDone event")
	want := seen{got.id, "worker", "conversation-1", commandID, "w-1"}
	if got != want {
		t.Errorf("WorkDone handled with %+v, want %+v", got, want)
	}
	if got.id == commandID || got.id == "" {
		t.Errorf("event id %q must be new and not the command's id %q", got.id, commandID)
	}
}

// A message sent outside a handler starts its own conversation: its
// correlation id is its id.
func TestCorrelationDefaultsToMessageID(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	got := make(chan [2]string, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- [2]string{mc.ID(), mc.CorrelationID()}
			return nil
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	ids := receive(t, got, "the Work command")
	if ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("id %q, correlation id %q: want them equal and set", ids[0], ids[1])
	}
}

// Two instances of one endpoint share its consumer: every command is
// handled by exactly one of them, and both take work.
func TestCompetingInstancesHandleEachCommandOnce(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	a, b := connect(t, url), connect(t, url)
	const n = 200
	handled := newCounter()
	bTookOne := make(chan struct{})
	var once sync.Once
	// Instance a holds its only slot until b has handled a message, so the
	// test shows both instances competing for the same queue.
	startEndpoint(t, a, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			<-bTookOne
			handled.add("a/" + w.GetId())
			return nil
		}))
	}, gobus.WithConcurrency(1))
	startEndpoint(t, b, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add("b/" + w.GetId())
			once.Do(func() { close(bTookOne) })
			return nil
		}))
	}, gobus.WithConcurrency(1))

	ctx := context.Background()
	for i := range n {
		if err := gobustestv1.SendWork(ctx, a, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every command handled", func() bool { return handled.sum() >= n })
	byA, byB := 0, 0
	for i := range n {
		ca, cb := handled.count(fmt.Sprint("a/", i)), handled.count(fmt.Sprint("b/", i))
		if ca+cb != 1 {
			t.Errorf("command %d handled %d times by a and %d by b, want once in all", i, ca, cb)
		}
		byA += ca
		byB += cb
	}
	if byA == 0 || byB == 0 {
		t.Errorf("instance a handled %d, b handled %d: want both to take work", byA, byB)
	}
}

// Commands sent while their endpoint is down wait in its stream and are
// all handled once it starts.
func TestCommandsSentWhileEndpointDownAreHandledWhenItStarts(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	sender := connect(t, url)
	ctx := context.Background()
	const n = 50
	for i := range n {
		if err := gobustestv1.SendWork(ctx, sender, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatalf("SendWork with the endpoint down: %v", err)
		}
	}
	handled := newCounter()
	startEndpoint(t, connect(t, url), "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add(w.GetId())
			return nil
		}))
	})
	waitFor(t, "all commands handled", func() bool { return handled.distinct() == n })
	if handled.sum() != n {
		t.Errorf("handled %d times for %d commands, want each once", handled.sum(), n)
	}
}

// A handler that fails has its message delivered again; what it published
// before failing is not dispatched, so subscribers see the event once.
func TestFailedHandlerIsRetriedAndDispatchesOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	attempts := make(chan int, 10)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			attempts <- mc.Attempt()
			if err := gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: fmt.Sprint("attempt-", mc.Attempt())}); err != nil {
				return err
			}
			if mc.Attempt() <= int(w.GetFailTimes()) {
				return fmt.Errorf("failing on purpose, attempt %d", mc.Attempt())
			}
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Delayed: 5, Delay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}))
	events := make(chan string, 10)
	startEndpoint(t, c, "listener", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			events <- e.GetId()
			return nil
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w", FailTimes: 2}); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		if got := receive(t, attempts, "an attempt"); got != want {
			t.Fatalf("attempt %d reported as %d", want, got)
		}
	}
	if got := receive(t, events, "the WorkDone event"); got != "attempt-3" {
		t.Errorf("subscriber saw %q, want only the event of the successful attempt 3", got)
	}
	select {
	case e := <-events:
		t.Errorf("subscriber saw a second event %q", e)
	case a := <-attempts:
		t.Errorf("handler ran again (attempt %d) after it succeeded", a)
	default:
	}
}
