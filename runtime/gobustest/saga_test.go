package gobustest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/gobustest"
)

// shipment is a saga written by hand with gobus.NewSaga: it ships an
// order once it is opened and paid, and gives up on one whose payment is
// overdue.
func shipment(overdue time.Duration) *gobus.Saga[*gobustestv1.ShipmentState] {
	type sc = gobus.SagaContext[*gobustestv1.ShipmentState]
	progress := func(ctx context.Context, c *sc) error {
		st := c.State()
		st.Handled++
		if !st.Opened || !st.Paid {
			return nil
		}
		c.Complete()
		return gobustestv1.PublishSagaParcelShipped(ctx, c, &gobustestv1.SagaParcelShipped{OrderId: st.GetOrderId()})
	}
	return gobus.NewSaga[*gobustestv1.ShipmentState]("gobustest.v1.ShipmentState", "order_id",
		gobus.SagaEvent(gobustestv1.SagaOrderOpenedRoute, "order_id", gobus.SagaStarts(), func(ctx context.Context, c *sc, e *gobustestv1.SagaOrderOpened) error {
			if e.GetAmountCents() < 0 {
				return errors.New("negative amount")
			}
			c.State().Opened = true
			if err := c.RequestTimeout(ctx, overdue, &gobustestv1.PaymentOverdue{OrderId: e.GetOrderId()}); err != nil {
				return err
			}
			return progress(ctx, c)
		}),
		gobus.SagaEvent(gobustestv1.SagaOrderPaidRoute, "order_id", gobus.SagaStarts(), func(ctx context.Context, c *sc, _ *gobustestv1.SagaOrderPaid) error {
			c.State().Paid = true
			return progress(ctx, c)
		}),
		gobus.SagaCommand(gobustestv1.SagaCloseOrderRoute, "order_id", gobus.SagaFailIfMissing(), func(_ context.Context, c *sc, _ *gobustestv1.SagaCloseOrder) error {
			c.Complete()
			return nil
		}),
		gobus.SagaTimeout(func(ctx context.Context, c *sc, t *gobustestv1.PaymentOverdue) error {
			c.Complete()
			return gobustestv1.SendSagaCloseOrder(ctx, c, &gobustestv1.SagaCloseOrder{OrderId: t.GetOrderId()})
		}),
	)
}

func TestSagaCompletesWhenOpenedAndPaid(t *testing.T) {
	s := gobustest.NewSagaScenario(shipment(30*time.Minute), gobustest.SagaEndpoint("shipper"))
	opened := s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "o-1", AmountCents: 2500}).Expect(t, gobus.SagaStarted)
	if !opened.Instance.State.GetOpened() || opened.Instance.State.GetPaid() {
		t.Errorf("state after opened: %v", opened.Instance.State)
	}
	if len(opened.Timeouts) != 1 || !opened.Timeouts[0].Due.Equal(s.Now().Add(30*time.Minute)) {
		t.Fatalf("timeouts requested: %+v, want one due in 30m", opened.Timeouts)
	}
	paid := s.Handle(&gobustestv1.SagaOrderPaid{OrderId: "o-1"}).Expect(t, gobus.SagaCompleted)
	if got := gobustest.ExpectPublished[*gobustestv1.SagaParcelShipped](t, paid.Context); got.GetOrderId() != "o-1" {
		t.Errorf("shipped %v", got)
	}
	if s.Instance("o-1") != nil || len(s.Timeouts()) != 0 {
		t.Errorf("after completion: instance %v, timeouts %v; want neither", s.Instance("o-1"), s.Timeouts())
	}
	if fired := s.AdvanceTime(time.Hour); len(fired) != 0 {
		t.Errorf("a completed instance's timeout fired: %v", fired)
	}
}

func TestSagaTimeoutFiresOnTheVirtualClock(t *testing.T) {
	s := gobustest.NewSagaScenario(shipment(30*time.Minute), gobustest.SagaEndpoint("shipper"))
	start := s.Now()
	s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "o-1"}).Expect(t, gobus.SagaStarted)
	if fired := s.AdvanceTime(29 * time.Minute); len(fired) != 0 {
		t.Fatalf("fired before due: %v", fired)
	}
	fired := s.AdvanceTime(time.Minute)
	if len(fired) != 1 {
		t.Fatalf("fired %d timeouts at 30m, want 1", len(fired))
	}
	fired[0].Expect(t, gobus.SagaCompleted)
	gobustest.ExpectSent[*gobustestv1.SagaCloseOrder](t, fired[0].Context)
	if got := fired[0].Context.Time(); !got.Equal(start.Add(30 * time.Minute)) {
		t.Errorf("the timeout arrived at %v, want its due time %v", got, start.Add(30*time.Minute))
	}
	if s.Instance("o-1") != nil {
		t.Error("the instance outlived its timeout")
	}
	// Paid too late: a new instance starts.
	s.Handle(&gobustestv1.SagaOrderPaid{OrderId: "o-1"}).Expect(t, gobus.SagaStarted)
}

func TestSagaTimeoutsFireInOrderToTheirInstances(t *testing.T) {
	s := gobustest.NewSagaScenario(shipment(time.Hour))
	s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "late"}).Expect(t, gobus.SagaStarted)
	s.AdvanceTime(20 * time.Minute)
	s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "later"}).Expect(t, gobus.SagaStarted)
	s.Handle(&gobustestv1.SagaOrderPaid{OrderId: "paid"}).Expect(t, gobus.SagaStarted)
	if n := len(s.Timeouts()); n != 2 {
		t.Fatalf("%d timeouts pending, want 2", n)
	}
	fired := s.AdvanceTime(2 * time.Hour)
	if len(fired) != 2 {
		t.Fatalf("fired %d, want 2", len(fired))
	}
	for i, want := range []string{"late", "later"} {
		if got := gobustest.ExpectSent[*gobustestv1.SagaCloseOrder](t, fired[i].Context).GetOrderId(); got != want {
			t.Errorf("timeout %d closed %s, want %s", i, got, want)
		}
	}
	if s.Instance("paid") == nil {
		t.Error("an instance without a timeout is gone")
	}
}

func TestSagaNotFoundAndFailures(t *testing.T) {
	s := gobustest.NewSagaScenario(shipment(time.Hour))
	closed := s.Handle(&gobustestv1.SagaCloseOrder{OrderId: "nobody"})
	if closed.Outcome != gobus.SagaNotFound || closed.Err == nil {
		t.Errorf("closing a missing order: %v %v, want not found and an error", closed.Outcome, closed.Err)
	}
	s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "o-1"}).Expect(t, gobus.SagaStarted)
	bad := s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "o-1", AmountCents: -1})
	if bad.Err == nil || bad.Instance != s.Instance("o-1") || len(s.Timeouts()) != 1 {
		t.Errorf("a failed handler: err %v, instance %v, %d timeouts; want the error and nothing changed", bad.Err, bad.Instance, len(s.Timeouts()))
	}
	got := failure(t, func(tb testing.TB) { bad.Expect(tb, gobus.SagaUpdated) })
	want := `[gobustest: gobustest.v1.SagaOrderOpened{order_id:"o-1" amount_cents:-1} gave error "negative amount", want updated; it recorded:` + "\n  (nothing)]"
	if got != want {
		t.Errorf("failure message:\n%s\nwant:\n%s", got, want)
	}
	got = failure(t, func(tb testing.TB) {
		s.Handle(&gobustestv1.SagaOrderPaid{OrderId: "o-1"}).Expect(tb, gobus.SagaUpdated)
	})
	if !strings.Contains(got, "gave outcome completed, want updated; it recorded:\n  published gobustest.v1.SagaParcelShipped{order_id:\"o-1\"}") {
		t.Errorf("failure message: %s", got)
	}
}
