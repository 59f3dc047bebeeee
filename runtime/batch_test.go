package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A batch pipelines sends with a bounded window and reports every
// message's outcome; every message reaches its endpoint once.
func TestBatchSendsEveryMessage(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add(w.GetId())
			return nil
		}))
	})
	ctx := context.Background()
	b := c.NewBatch(16)
	const n = 500
	for i := range n {
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: fmt.Sprint(i)}, gobus.WithMessageID(fmt.Sprint("batch-", i))); err != nil {
			t.Fatal(err)
		}
	}
	results, err := b.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n {
		t.Fatalf("%d results for %d messages", len(results), n)
	}
	for i, r := range results {
		if r.Err != nil || r.MessageID != fmt.Sprint("batch-", i) || r.Type != gobustestv1.WorkType {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	waitFor(t, "every message handled", func() bool { return handled.distinct() == n })
	if handled.sum() != n {
		t.Errorf("handled %d times for %d messages", handled.sum(), n)
	}
	if results, err := b.Wait(ctx); err != nil || len(results) != 0 {
		t.Errorf("second Wait: %d results, %v", len(results), err)
	}
}

// A message the server refuses is reported by Wait, not lost silently.
func TestBatchReportsFailures(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t), gobus.WithRoute(gobustestv1.WorkType, "nobody"), gobus.WithoutInstaller())
	ctx := context.Background()
	b := c.NewBatch(4)
	// No stream takes the subject of endpoint "nobody": JetStream answers
	// with no responders.
	for i := range 3 {
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	results, err := b.Wait(ctx)
	if err == nil {
		t.Fatal("Wait reported no failure")
	}
	for _, r := range results {
		if r.Err == nil {
			t.Errorf("message %s reported stored", r.MessageID)
		}
	}
	if len(results) != 3 {
		t.Errorf("%d results, want 3", len(results))
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("unexpected %v", err)
	}
}
