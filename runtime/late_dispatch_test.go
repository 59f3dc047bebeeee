package gobus_test

import (
	"context"
	"errors"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A goroutine that a handler started, sending through the handler's
// MessageContext after the message was settled, is told so: its message
// could go with no incoming message, so it is refused rather than lost
// without a word.
func TestSendAfterTheHandlerReturnedIsRefused(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	late := make(chan *gobus.MessageContext, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			late <- mc
			return nil
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	mc := receive(t, late, "the handler's message context")
	cons, err := c.JetStream().Consumer(context.Background(), "gobus_queue_worker", "worker")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command acknowledged", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= 1
	})

	err = gobustestv1.PublishWorkDone(context.Background(), mc, &gobustestv1.WorkDone{Id: "late"})
	if !errors.Is(err, gobus.ErrHandlerReturned) {
		t.Errorf("PublishWorkDone after the handler returned: %v, want ErrHandlerReturned", err)
	}
	if err := mc.CancelScheduled(context.Background(), "evt.some-schedule"); !errors.Is(err, gobus.ErrHandlerReturned) {
		t.Errorf("CancelScheduled after the handler returned: %v, want ErrHandlerReturned", err)
	}
	if id := mc.ID(); id == "" {
		t.Error("the message's attributes are gone after the handler returned; they stay readable")
	}
}
