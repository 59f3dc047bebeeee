package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A dispatch middleware that hands one message on twice has it in
// flight twice in one batch: each gets its own result, in order, the
// second a duplicate of the first, and the endpoint gets it once.
func TestBatchReportsAMessageDispatchedTwice(t *testing.T) {
	t.Parallel()
	twice := func(next gobus.DispatchFunc) gobus.DispatchFunc {
		return func(ctx context.Context, m *gobus.OutgoingMessage) error {
			if err := next(ctx, m); err != nil {
				return err
			}
			return next(ctx, m)
		}
	}
	c := connect(t, newServerURL(t), gobus.WithDispatchMiddleware(twice))
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add(w.GetId())
			return nil
		}))
	})
	ctx := context.Background()
	b := c.NewBatch(0)
	const n = 3
	for i := range n {
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: fmt.Sprint(i)}, gobus.WithMessageID(fmt.Sprint("twice-", i))); err != nil {
			t.Fatal(err)
		}
	}
	results, err := b.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2*n {
		t.Fatalf("%d results for %d messages dispatched twice", len(results), n)
	}
	for i, r := range results {
		if r.Err != nil || r.MessageID != fmt.Sprint("twice-", i/2) || r.Duplicate != (i%2 == 1) {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	waitFor(t, "every message handled", func() bool { return handled.distinct() == n })
}

// A batch whose window is full waits for room until ctx ends, then says
// so; Wait does too, and the next Wait reports the message in flight,
// which no stream took.
func TestBatchHonoursContextWhileWaitingForRoom(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t), gobus.WithRoute(gobustestv1.WorkType, "nobody"), gobus.WithoutInstaller())
	b := c.NewBatch(1)
	ctx := context.Background()
	// JetStream answers no responders, retried twice 250 ms apart before
	// the publish fails: the window stays full meanwhile.
	if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: "first"}, gobus.WithMessageID("first")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := gobustestv1.SendWork(cancelled, b, &gobustestv1.Work{Id: "second"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dispatch with the window full and ctx cancelled = %v, want %v", err, context.Canceled)
	}
	if _, err := b.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with ctx cancelled = %v, want %v", err, context.Canceled)
	}
	results, err := b.Wait(ctx)
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Errorf("Wait = %v, want %v", err, jetstream.ErrNoStreamResponse)
	}
	if len(results) != 1 || results[0].MessageID != "first" || !errors.Is(results[0].Err, jetstream.ErrNoStreamResponse) {
		t.Errorf("results %+v, want the first message failed with %v", results, jetstream.ErrNoStreamResponse)
	}
}

// A message in flight when the connection closes is reported failed.
func TestBatchReportsAMessageInFlightWhenTheConnectionCloses(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(newServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, "", gobus.WithConn(nc), gobus.WithRoute(gobustestv1.WorkType, "nobody"), gobus.WithoutInstaller())
	b := c.NewBatch(0)
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: "lost"}); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	results, err := b.Wait(ctx)
	if err == nil || len(results) != 1 || results[0].Err == nil {
		t.Errorf("Wait = %+v, %v: want the message failed", results, err)
	}
}

// Goroutines sending through one batch, with a small window, each get
// their messages in flight; Wait, concurrent with them, reports outcomes
// in dispatch order, and every message is reported by one Wait or the
// next, once.
func TestBatchIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ctx := context.Background()
	b := c.NewBatch(4)
	const senders, each = 4, 50
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: "w"}, gobus.WithMessageID(fmt.Sprint(s, "-", i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]bool{}
	next := make([]int, senders) // the index each sender's next result has
	record := func(results []gobus.Result, err error) {
		if err != nil {
			t.Error(err)
		}
		for _, r := range results {
			if seen[r.MessageID] || r.Err != nil || r.Duplicate {
				t.Errorf("result %+v reported twice or failed", r)
			}
			seen[r.MessageID] = true
			var s, i int
			if _, err := fmt.Sscanf(r.MessageID, "%d-%d", &s, &i); err != nil || i != next[s] {
				t.Errorf("result %+v out of its sender's order: want index %d", r, next[s])
			}
			next[s] = i + 1
		}
	}
	record(b.Wait(ctx))
	wg.Wait()
	record(b.Wait(ctx))
	if len(seen) != senders*each {
		t.Errorf("%d messages reported, want %d", len(seen), senders*each)
	}
}
