package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Two instances of an endpoint limited to 20 messages a second share the
// limit: 100 messages span at least 5 windows of a second, more than
// 3 seconds, however fast the handlers are, and no calendar second sees more
// than 20 handler runs begin (with a margin for a run that starts just
// after the second whose slot it took). While the backlog waits, the
// instances hold only a few messages each: the rest stays in the queue.
func TestRateLimitHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	const (
		rate        = 20
		n           = 5 * rate
		concurrency = 4
	)
	url := newServerURL(t)
	var mu sync.Mutex
	var runs []time.Time
	for range 2 {
		c := connect(t, url)
		startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
			return gobus.HandleCommand(ep, gobustestv1.WorkRoute, func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error {
				mu.Lock()
				runs = append(runs, time.Now())
				mu.Unlock()
				return nil
			})
		}, gobus.WithRateLimit(rate), gobus.WithConcurrency(concurrency))
	}
	sender := connect(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := sender.NewBatch(0)
	for i := range n {
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	consumer, err := sender.JetStream().Consumer(ctx, "gobus_queue_worker", "worker")
	if err != nil {
		t.Fatal(err)
	}
	info, err := consumer.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Each instance holds at most its concurrency and one prefetched.
	if held := info.NumAckPending; held > 2*(concurrency+1) {
		t.Errorf("the instances hold %d messages; want at most %d: the backlog belongs in the queue", held, 2*(concurrency+1))
	}
	if info.NumPending == 0 && len(runs) < n-2*(concurrency+1) {
		t.Errorf("nothing waits in the queue while %d of %d are handled", len(runs), n)
	}

	waitWithin(t, 45*time.Second, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(runs) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(runs, func(i, j int) bool { return runs[i].Before(runs[j]) })
	// n messages at rate per second touch at least n/rate windows of a
	// second; the first run may come at the end of the first window, so
	// the last begins at least n/rate-2 seconds after it.
	if span, least := runs[len(runs)-1].Sub(runs[0]), time.Duration(n/rate-2)*time.Second; span < least {
		t.Errorf("%d messages handled within %s; at %d a second they take at least %s", n, span, rate, least)
	}
	perSecond := map[int64]int{}
	for _, r := range runs {
		perSecond[r.Unix()]++
	}
	for sec, count := range perSecond {
		if count > rate+concurrency*2 {
			t.Errorf("second %d saw %d runs; the limit is %d a second", sec, count, rate)
		}
	}
	t.Logf("%d runs over %s; per second %v", len(runs), runs[len(runs)-1].Sub(runs[0]), perSecond)
}

// A rate limit below one message a second is refused by NewEndpoint.
func TestRateLimitBelowOneIsRefused(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	if _, err := gobus.NewEndpoint(c, "worker", gobus.WithRateLimit(0)); !errors.Is(err, gobus.ErrInvalidOption) {
		t.Fatalf("NewEndpoint with WithRateLimit(0): %v, want ErrInvalidOption", err)
	}
}
