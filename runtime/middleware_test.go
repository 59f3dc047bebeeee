package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// trail records what middleware and handlers did, in order.
type trail struct {
	mu    sync.Mutex
	steps []string
}

func (t *trail) add(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, fmt.Sprintf(format, args...))
}

func (t *trail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.steps, " ")
}

func named(tr *trail, name string) gobus.Middleware {
	return func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			if mc.Endpoint() != "worker" { // the trail is the worker's
				return next(ctx, mc, msg)
			}
			tr.add("%s>", name)
			err := next(ctx, mc, msg)
			tr.add("<%s", name)
			return err
		}
	}
}

// tagKey carries a value from handling middleware, through the handler's
// context, to dispatch middleware.
type tagKey struct{}

// Handling middleware runs in the order given, the client's outside the
// endpoint's; dispatch middleware sees every outgoing message, from a
// client and from a handler, adds a header the receiver reads, and gets
// the context the handler sent with.
func TestMiddlewareOrderAndDispatchHeaders(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	stamp := func(who string) gobus.DispatchMiddleware {
		return func(next gobus.DispatchFunc) gobus.DispatchFunc {
			return func(ctx context.Context, m *gobus.OutgoingMessage) error {
				tag, _ := ctx.Value(tagKey{}).(string)
				m.Msg.Header.Set("x-stamped-by", who+tag)
				return next(ctx, m)
			}
		}
	}
	tagging := func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			return next(context.WithValue(ctx, tagKey{}, "/"+mc.Endpoint()), mc, msg)
		}
	}
	c := connect(t, newServerURL(t),
		gobus.WithMiddleware(named(tr, "client-1"), named(tr, "client-2")),
		gobus.WithDispatchMiddleware(stamp("client")))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			tr.add("handler(%s)", mc.Header("x-stamped-by"))
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	}, gobus.WithMiddleware(named(tr, "endpoint"), tagging))
	stamps := make(chan string, 1)
	startEndpoint(t, c, "watcher", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			stamps <- mc.Header("x-stamped-by")
			return nil
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, stamps, "the WorkDone"); got != "client/worker" {
		t.Errorf("the handler's WorkDone was stamped %q, want %q (client middleware, with the handler's context)", got, "client/worker")
	}
	waitFor(t, "the worker's middleware done", func() bool { return strings.HasSuffix(tr.String(), "<client-1") })
	if worker, want := tr.String(), "client-1> client-2> endpoint> handler(client) <endpoint <client-2 <client-1"; worker != want {
		t.Errorf("worker trail %q, want %q", worker, want)
	}
}

// A middleware that times handlers sees each handler's duration; one that
// returns an error has it retried like a handler's; one that does not
// call next acknowledges the message without the handler.
func TestMiddlewareTimesFailsAndShortCircuits(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	took := map[string]time.Duration{}
	steps := map[string][]gobus.Step{}
	timing := func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			start := time.Now()
			err := next(ctx, mc, msg)
			id := msg.(*gobustestv1.Work).GetId()
			mu.Lock()
			took[id] = time.Since(start)
			steps[id] = append(steps[id], mc.NextStep(err))
			mu.Unlock()
			return err
		}
	}
	failedOnce := map[string]bool{}
	gatekeeper := func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			id := msg.(*gobustestv1.Work).GetId()
			switch {
			case id == "skipped":
				return nil
			case id == "refused-once" && !failedOnce[id]:
				failedOnce[id] = true
				return errors.New("refused by middleware")
			}
			return next(ctx, mc, msg)
		}
	}
	c := connect(t, newServerURL(t))
	handled := make(chan string, 3)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			if w.GetId() == "slow" {
				time.Sleep(50 * time.Millisecond) // the duration being measured
			}
			if w.GetId() == "always-fails" {
				return errors.New("no")
			}
			handled <- w.GetId()
			return nil
		}))
	}, gobus.WithConcurrency(1), gobus.WithMiddleware(timing, gatekeeper),
		gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 2, Delayed: 1, Delay: 10 * time.Millisecond, MaxDelay: time.Second}))
	for _, id := range []string{"skipped", "refused-once", "slow", "always-fails"} {
		if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for range 2 {
		got[receive(t, handled, "a handled Work")] = true
	}
	if !got["refused-once"] || !got["slow"] {
		t.Errorf("handled %v, want refused-once (retried) and slow", got)
	}
	waitFor(t, "always-fails in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if took["slow"] < 50*time.Millisecond {
		t.Errorf("the timing middleware measured %s for a 50ms handler", took["slow"])
	}
	want := map[string]string{
		"skipped":      "[ack]",
		"refused-once": "[retry-now ack]",
		"slow":         "[ack]",
		"always-fails": "[retry-now retry-now retry-later error-stream]",
	}
	for id, w := range want {
		if s := fmt.Sprint(steps[id]); s != w {
			t.Errorf("%s: NextStep after each try %s, want %s", id, s, w)
		}
	}
	select {
	case id := <-handled:
		t.Errorf("%s reached the handler", id)
	default:
	}
}
