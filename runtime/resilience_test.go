package gobus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A handler that runs three times the ack wait is kept alive by
// heartbeats: its message is delivered once, not again to a second
// instance.
func TestHeartbeatsKeepLongHandlersAlive(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	deliveries := newCounter()
	const ackWait = time.Second
	for range 2 { // two instances: a redelivery would go to the idle one
		startEndpoint(t, connect(t, url), "worker", func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
				deliveries.add(w.GetId())
				select { // the work itself: three ack waits long
				case <-time.After(3 * ackWait):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}))
		}, gobus.WithAckWait(ackWait), gobus.WithConcurrency(1))
	}
	c := connect(t, url)
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "long"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue drained", func() bool {
		return deliveries.count("long") >= 1 && streamMsgs(t, c, "gobus_queue_worker") == 0
	})
	if n := deliveries.count("long"); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
}

// A server restart (same store) in the middle of a stream of messages
// loses nothing: the endpoint reconnects by itself and resumes, and every
// Work sent has its WorkDone stored, once. The sender keeps sending through
// the restart, sending again with the same message id whatever JetStream
// did not confirm; its copies, and the WorkDone events of handlers run
// again, are dropped by JetStream's duplicate window.
func TestEndpointSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	const n = 3000
	ns := natstest.RunServer(t)
	url := ns.ClientURL()
	sender := connect(t, url)
	runs := newCounter()
	workers := connect(t, url)
	startEndpoint(t, workers, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			runs.add(w.GetId())
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	}, gobus.WithAckWait(5*time.Second)) // acks lost with the server come back after it

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := &workSender{c: sender}
	start := time.Now()
	sending := s.sendPaced(ctx, workIDs(n), 25, 200, runs.distinct)
	waitWithin(t, 30*time.Second, "a third handled before the restart", func() bool { return runs.distinct() >= n/3 })
	atRestart := runs.distinct()
	restartAt := time.Since(start)
	natstest.Restart(t, ns)
	restarted := time.Since(start)
	// Close the clients before the new server stops, which Restart left
	// to the end of the test: a client closing without its server waits
	// for the drain to time out.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = workers.Close(ctx)
		_ = sender.Close(ctx)
	})
	// Events stored by the new server are handlers' effects after it.
	var events jetstream.StreamState
	waitWithin(t, 30*time.Second, "the sender reconnected", func() bool {
		var ok bool
		events, ok = streamState(sender, faultEvents)
		return ok
	})
	waitWithin(t, 30*time.Second, "handling resumed after the restart", func() bool {
		st, _ := streamState(sender, faultEvents)
		return st.Msgs >= events.Msgs+100
	})
	resumed := time.Since(start)
	if err := receive(t, sending, "the sender"); err != nil {
		t.Fatal(err)
	}
	state := func(name string) jetstream.StreamState {
		st, _ := streamState(sender, name)
		return st
	}
	waitWithin(t, 30*time.Second, "every Work handled", func() bool {
		return state(faultEvents).Msgs >= n && queueSettled(sender)
	})
	all := time.Since(start)

	stored := storedWorkDone(t, sender)
	for _, id := range workIDs(n) {
		if stored[id] != 1 {
			t.Errorf("Work %s has %d WorkDone stored, want 1", id, stored[id])
		}
	}
	checkQueue(t, sender, n, stored)
	if got := state(faultErrors).Msgs; got != 0 {
		t.Errorf("the error stream holds %d messages, want 0", got)
	}
	t.Logf("%d Work: restart at %s with %d handled, server back at %s, handling resumed at %s, all handled at %s; "+
		"%d sends repeated; %d handler runs (%d duplicate)",
		n, restartAt.Round(time.Millisecond), atRestart, restarted.Round(time.Millisecond), resumed.Round(time.Millisecond),
		all.Round(time.Millisecond), s.resent.Load(), runs.sum(), runs.sum()-n)
}

// A consumer deleted under a running endpoint (by an operator, or lost by
// the server) is created again, and pulling resumes on its own.
func TestEndpointRecreatesADeletedConsumer(t *testing.T) {
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
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "before"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first message handled", func() bool { return handled.count("before") == 1 })
	if err := c.JetStream().DeleteConsumer(ctx, "gobus_queue_worker", "worker"); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "after"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message sent after the deletion handled", func() bool { return handled.count("after") == 1 })
}
