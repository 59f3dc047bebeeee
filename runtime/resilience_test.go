package gobus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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

// A server restart in the middle of a stream of messages is not fatal:
// the endpoint reconnects by itself and handles every message.
func TestEndpointSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	ns := natstest.RunServer(t)
	url := ns.ClientURL()
	c := connect(t, url)
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add(w.GetId())
			return nil
		}))
	})
	ctx := context.Background()
	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			id := fmt.Sprint(i)
			var err error
			// Right after the restart the client may still be reconnecting:
			// send again with the same id until the server stores it.
			for try := 0; try < 100; try++ {
				sendCtx, cancel := context.WithTimeout(ctx, time.Second)
				err = gobustestv1.SendWork(sendCtx, c, &gobustestv1.Work{Id: id}, gobus.WithMessageID("m-"+id))
				cancel()
				if err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
	}
	send(0, 100)
	waitFor(t, "some handled", func() bool { return handled.distinct() >= 50 })
	natstest.Restart(t, ns)
	send(100, 200)
	waitFor(t, "all 200 handled after the restart", func() bool { return handled.distinct() == 200 })
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
