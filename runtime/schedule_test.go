package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// scheduleBound is how late after its time a scheduled message may
// arrive in these tests: nats-server's scheduler wakes at the earliest
// due time but at most every 250 ms, and the machine running the tests
// is busy. docs/wire.md documents the bound.
const scheduleBound = 1500 * time.Millisecond

// ticks records when each Tick arrived, and how often.
type ticks struct {
	mu      sync.Mutex
	at      map[string][]time.Time
	mcs     map[string]*tickSeen
	arrived chan string
}

// tickSeen is what a tick's handler saw of its message.
type tickSeen struct {
	id, correlation, traceparent string
}

func newTicks() *ticks {
	return &ticks{at: map[string][]time.Time{}, mcs: map[string]*tickSeen{}, arrived: make(chan string, 20_000)}
}

func (tk *ticks) HandleTick(_ context.Context, mc *gobus.MessageContext, t *gobustestv1.Tick) error {
	tk.mu.Lock()
	tk.at[t.Id] = append(tk.at[t.Id], time.Now())
	tk.mcs[t.Id] = &tickSeen{id: mc.ID(), correlation: mc.CorrelationID(), traceparent: mc.Header("traceparent")}
	tk.mu.Unlock()
	tk.arrived <- t.Id
	return nil
}

func (tk *ticks) count(id string) int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return len(tk.at[id])
}

func (tk *ticks) first(id string) time.Time {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.at[id][0]
}

func (tk *ticks) seen(id string) *tickSeen {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.mcs[id]
}

// startTicker starts the ticker endpoint on c, recording into tk.
func startTicker(t *testing.T, c *gobus.Client, tk *ticks) *gobus.Endpoint {
	t.Helper()
	return startEndpoint(t, c, "ticker", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterTickerHandler(ep, tk) })
}

// waitTick waits for the tick id to arrive.
func waitTick(t *testing.T, tk *ticks, id string) {
	t.Helper()
	waitFor(t, "tick "+id, func() bool { return tk.count(id) > 0 })
}

// Delays of 0, 200 ms and 2 s arrive no earlier than asked, and within
// scheduleBound after.
func TestScheduledSendArrivesNoEarlier(t *testing.T) {
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	for _, d := range []time.Duration{0, 200 * time.Millisecond, 2 * time.Second} {
		id := "after-" + d.String()
		start := time.Now()
		if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: id}, gobus.After(d)); err != nil {
			t.Fatalf("SendTick(After(%v)): %v", d, err)
		}
		waitTick(t, tk, id)
		late := tk.first(id).Sub(start) - d
		t.Logf("After(%v): arrived %v after its time", d, late)
		if late < 0 {
			t.Errorf("After(%v) arrived %v early", d, -late)
		}
		if late > scheduleBound {
			t.Errorf("After(%v) arrived %v late, more than %v", d, late, scheduleBound)
		}
	}
}

// Two messages held back for one endpoint both arrive: each has a
// schedule subject of its own, so the second does not replace the first.
func TestTwoDelaysToOneTargetBothArrive(t *testing.T) {
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "first"}, gobus.After(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "second"}, gobus.After(600*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "first")
	waitTick(t, tk, "second")
}

// A scheduled message keeps its ce-id and correlation id, and sending it
// twice with one id holds it back once.
func TestScheduledMessageKeepsItsIDs(t *testing.T) {
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	subjects := make(chan string, 4)
	c := connect(t, newServerURL(t), gobus.WithDispatchMiddleware(func(next gobus.DispatchFunc) gobus.DispatchFunc {
		return func(ctx context.Context, m *gobus.OutgoingMessage) error {
			subjects <- m.Msg.Subject
			m.Msg.Header.Set("traceparent", traceparent)
			return next(ctx, m)
		}
	}))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	opts := []gobus.SendOption{gobus.After(300 * time.Millisecond), gobus.WithMessageID("tick-id-1"), gobus.WithCorrelationID("conv-7")}
	for range 2 { // a retried send
		if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "kept"}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	// A later tick bounds the wait for a copy of the first.
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "later"}, gobus.After(900*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "later")
	if n := tk.count("kept"); n != 1 {
		t.Fatalf("the twice-sent scheduled tick arrived %d times, want 1", n)
	}
	if s := tk.seen("kept"); s.id != "tick-id-1" || s.correlation != "conv-7" || s.traceparent != traceparent {
		t.Fatalf("delivered with id %q, correlation %q, traceparent %q; want tick-id-1, conv-7, %s", s.id, s.correlation, s.traceparent, traceparent)
	}
	if got := <-subjects; got != "gobus.cmd.ticker.gobustest.v1.Tick" {
		t.Fatalf("dispatch middleware saw subject %q, want the target's", got)
	}
}

// A scheduled publish reaches the subscribers when its time comes.
func TestScheduledPublishArrives(t *testing.T) {
	c := connect(t, newServerURL(t))
	got := make(chan string, 1)
	startEndpoint(t, c, "watcher", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterTickedHandler(ep, tickedFunc(func(_ context.Context, _ *gobus.MessageContext, e *gobustestv1.Ticked) error {
			got <- e.Id
			return nil
		}))
	})
	start := time.Now()
	if err := gobustestv1.PublishTicked(context.Background(), c, &gobustestv1.Ticked{Id: "evt"}, gobus.After(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if id := receive(t, got, "the scheduled event"); id != "evt" {
		t.Fatalf("event %q", id)
	}
	if early := 300*time.Millisecond - time.Since(start); early > 0 {
		t.Fatalf("the event arrived %v early", early)
	}
}

type tickedFunc func(context.Context, *gobus.MessageContext, *gobustestv1.Ticked) error

func (f tickedFunc) HandleTicked(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.Ticked) error {
	return f(ctx, mc, e)
}

// A cancelled message never arrives; a later one that is not cancelled
// bounds the wait.
func TestCancelledScheduleNeverArrives(t *testing.T) {
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	var id string
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "cancelled"}, gobus.After(500*time.Millisecond), gobus.ScheduledID(&id)); err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Fatal("ScheduledID gave no id")
	}
	if err := c.CancelScheduled(ctx, id); err != nil {
		t.Fatalf("CancelScheduled(%q): %v", id, err)
	}
	if err := c.CancelScheduled(ctx, id); err != nil {
		t.Fatalf("cancelling twice: %v", err)
	}
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "kept"}, gobus.After(time.Second)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "kept")
	if n := tk.count("cancelled"); n != 0 {
		t.Fatalf("the cancelled tick arrived %d times", n)
	}
	var fired string
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "fired"}, gobus.After(200*time.Millisecond), gobus.ScheduledID(&fired)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "fired")
	if err := c.CancelScheduled(ctx, fired); !errors.Is(err, gobus.ErrScheduleFired) {
		t.Fatalf("cancelling a delivered tick = %v, want ErrScheduleFired", err)
	}
	if err := c.CancelScheduled(ctx, "not an id"); !errors.Is(err, gobus.ErrInvalidOption) {
		t.Fatalf("cancelling a made-up id = %v, want ErrInvalidOption", err)
	}
}

// Cancels racing their messages' firing: each cancel that succeeds keeps
// its message from ever being handled; each that fails with
// ErrScheduleFired comes after a delivery.
func TestCancelRacesFiring(t *testing.T) {
	const n = 60
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	due := time.Now().Add(800 * time.Millisecond)
	ids := make([]string, n)
	for i := range n {
		if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: fmt.Sprint(i)}, gobus.At(due), gobus.ScheduledID(&ids[i])); err != nil {
			t.Fatal(err)
		}
	}
	// Cancel them one by one from 100 ms before their time to after it,
	// two at a time.
	cancelled := make([]bool, n)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				at := due.Add(-100*time.Millisecond + time.Duration(i)*5*time.Millisecond)
				time.Sleep(time.Until(at)) // pacing the race, not synchronising on it
				switch err := c.CancelScheduled(ctx, ids[i]); {
				case err == nil:
					cancelled[i] = true
				case errors.Is(err, gobus.ErrScheduleFired):
				default:
					t.Errorf("CancelScheduled(%d): %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "sentinel"}, gobus.After(time.Second)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "sentinel")
	var won, lost int
	for i := range n {
		switch got := tk.count(fmt.Sprint(i)); {
		case cancelled[i] && got > 0:
			t.Errorf("tick %d arrived %d times after a successful cancel", i, got)
		case !cancelled[i] && got == 0:
			t.Errorf("tick %d could not be cancelled, yet never arrived", i)
		case cancelled[i]:
			won++
		default:
			lost++
		}
	}
	t.Logf("%d cancels came first, %d fires", won, lost)
}

// A handler that fails after scheduling schedules nothing.
func TestFailedHandlerSchedulesNothing(t *testing.T) {
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startTicker(t, c, tk)
	handled := make(chan struct{}, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			var id string
			if err := gobustestv1.SendTick(ctx, mc, &gobustestv1.Tick{Id: "from-" + w.Id}, gobus.After(200*time.Millisecond), gobus.ScheduledID(&id)); err != nil {
				return err
			}
			if id == "" {
				return gobus.Unrecoverable(errors.New("no schedule id in the handler"))
			}
			if w.FailTimes > 0 {
				handled <- struct{}{}
				return gobus.Unrecoverable(errors.New("failed after scheduling"))
			}
			return nil
		}))
	})
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "bad", FailTimes: 1}); err != nil {
		t.Fatal(err)
	}
	receive(t, handled, "the failing handler")
	waitFor(t, "the failed Work in the error stream", func() bool { return streamMsgs(t, c, "gobus_errors") == 1 })
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "good"}); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "from-good")
	if n := tk.count("from-bad"); n != 0 {
		t.Fatalf("the failed handler's tick arrived %d times", n)
	}
	if n := schedulesOf(t, c, "ticker"); n != 0 {
		t.Fatalf("%d schedules left in the ticker's queue", n)
	}
}

// A schedule survives a restart of the server.
func TestScheduleSurvivesServerRestart(t *testing.T) {
	ns := natstest.RunServer(t)
	c := connect(t, ns.ClientURL())
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	start := time.Now()
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "survivor"}, gobus.After(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	natstest.Restart(t, ns)
	waitTick(t, tk, "survivor")
	if early := 2*time.Second - tk.first("survivor").Sub(start); early > 0 {
		t.Fatalf("arrived %v early", early)
	}
}

// schedulesOf is how many schedules wait in endpoint's queue stream.
func schedulesOf(t *testing.T, c *gobus.Client, endpoint string) int {
	t.Helper()
	s, err := c.JetStream().Stream(context.Background(), "gobus_queue_"+endpoint)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter("gobus.sched.>"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// A scheduled publish can be cancelled too, and one further ahead than
// the events stream keeps messages is refused.
func TestScheduledPublishCancelAndMaxAge(t *testing.T) {
	c := connect(t, newServerURL(t), gobus.WithEventsMaxAge(time.Hour))
	got := make(chan string, 4)
	startEndpoint(t, c, "watcher", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterTickedHandler(ep, tickedFunc(func(_ context.Context, _ *gobus.MessageContext, e *gobustestv1.Ticked) error {
			got <- e.Id
			return nil
		}))
	})
	ctx := context.Background()
	var id string
	if err := gobustestv1.PublishTicked(ctx, c, &gobustestv1.Ticked{Id: "cancelled"}, gobus.After(400*time.Millisecond), gobus.ScheduledID(&id)); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelScheduled(ctx, id); err != nil {
		t.Fatalf("CancelScheduled(%q): %v", id, err)
	}
	if err := gobustestv1.PublishTicked(ctx, c, &gobustestv1.Ticked{Id: "kept"}, gobus.After(800*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if first := receive(t, got, "the kept event"); first != "kept" {
		t.Fatalf("event %q arrived first, want kept", first)
	}
	err := gobustestv1.PublishTicked(ctx, c, &gobustestv1.Ticked{Id: "too-far"}, gobus.After(2*time.Hour))
	if !errors.Is(err, gobus.ErrInvalidOption) {
		t.Fatalf("publishing 2h ahead with a 1h max age = %v, want ErrInvalidOption", err)
	}
}

// A handler cancels a schedule only if it succeeds.
func TestHandlerCancelsAfterSuccess(t *testing.T) {
	c := connect(t, newServerURL(t))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	ids := map[string]string{}
	for _, name := range []string{"kept", "cancelled"} {
		var id string
		if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: name}, gobus.After(2*time.Second), gobus.ScheduledID(&id)); err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	failed := make(chan struct{}, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			if err := mc.CancelScheduled(ctx, ids[w.Id]); err != nil {
				return err
			}
			if w.FailTimes > 0 {
				failed <- struct{}{}
				return gobus.Unrecoverable(errors.New("failed after cancelling"))
			}
			return nil
		}))
	})
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "kept", FailTimes: 1}); err != nil {
		t.Fatal(err)
	}
	receive(t, failed, "the failing handler")
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "kept")
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "sentinel"}, gobus.After(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "sentinel")
	if n := tk.count("cancelled"); n != 0 {
		t.Fatalf("the tick a successful handler cancelled arrived %d times", n)
	}
}

// A copy the server fires in the instant of a successful cancel is
// dropped by the endpoint: the cancel claimed the schedule's key first.
// The copy is published by hand here, with the headers the server writes
// on a fired message (and without Nats-Msg-Id, which it removes), as the
// race would leave it.
func TestFiredCopyAfterCancelIsDropped(t *testing.T) {
	var logs natstest.LockedBuffer
	url := newServerURL(t)
	c := connect(t, url, gobus.WithLogger(bufferLogger(&logs)))
	tk := newTicks()
	startTicker(t, c, tk)
	ctx := context.Background()
	var id string
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "raced"}, gobus.After(time.Hour), gobus.ScheduledID(&id), gobus.WithMessageID("raced-1")); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelScheduled(ctx, id); err != nil {
		t.Fatal(err)
	}
	copier := connect(t, url, gobus.WithDispatchMiddleware(func(next gobus.DispatchFunc) gobus.DispatchFunc {
		return func(ctx context.Context, m *gobus.OutgoingMessage) error {
			m.Msg.Header.Del("Nats-Msg-Id")
			m.Msg.Header.Set("Nats-Scheduler", "gobus.sched."+id)
			m.Msg.Header.Set("Nats-Schedule-Next", "purge")
			return next(ctx, m)
		}
	}))
	if err := gobustestv1.SendTick(ctx, copier, &gobustestv1.Tick{Id: "raced"}, gobus.WithMessageID("raced-1")); err != nil {
		t.Fatalf("publishing the fired copy: %v", err)
	}
	waitFor(t, "the fired copy to be dropped", func() bool {
		return strings.Contains(logs.String(), "dropped a scheduled message cancelled as it fired")
	})
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "sentinel"}); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "sentinel")
	if n := tk.count("raced"); n != 0 {
		t.Fatalf("the copy fired after a successful cancel was handled %d times", n)
	}
}
