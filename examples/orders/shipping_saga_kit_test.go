package main

import (
	"io"
	"testing"
	"time"

	billingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/billing/v1"
	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/gobustest"
)

// Unit tests of the shipping saga with the test kit: its decisions step by
// step on in-memory instances, and its billing timeout on a virtual
// clock. No server runs.

func shippingScenario(courier, billingTimeout time.Duration) *gobustest.SagaScenario[*shippingv1.ShippingState] {
	saga := shippingv1.NewShippingSaga(shippingSaga{newShipping(newFlow(io.Discard), courier, billingTimeout)})
	return gobustest.NewSagaScenario(saga, gobustest.SagaEndpoint("shipping"))
}

// Placed then billed: the saga packs the order, holds DispatchParcel back
// for the courier, and completes, which cancels its billing timeout.
func TestShippingSagaShipsOncePlacedAndBilled(t *testing.T) {
	s := shippingScenario(time.Second, 10*time.Minute)
	placed := s.Handle(&salesv1.OrderPlaced{OrderId: "o-1", TotalCents: 2500}).Expect(t, gobus.SagaStarted)
	if st := placed.Instance.State; !st.GetPlaced() || st.GetBilled() {
		t.Errorf("state after OrderPlaced: %v, want placed and not billed", st)
	}
	if len(placed.Timeouts) != 1 || !placed.Timeouts[0].Due.Equal(s.Now().Add(10*time.Minute)) {
		t.Errorf("timeouts requested: %+v, want BillingOverdue due in 10m", placed.Timeouts)
	}
	if n := len(gobustest.Sent[*shippingv1.DispatchParcel](placed.Context)) + len(gobustest.Scheduled[*shippingv1.DispatchParcel](placed.Context)); n != 0 {
		t.Errorf("shipping packed an order not billed yet (%d DispatchParcel)", n)
	}
	billed := s.Handle(&billingv1.OrderBilled{OrderId: "o-1", AmountCents: 2500}).Expect(t, gobus.SagaCompleted)
	parcel := gobustest.ExpectScheduled[*shippingv1.DispatchParcel](t, billed.Context)
	if parcel.Message.GetOrderId() != "o-1" || parcel.Delay != time.Second {
		t.Errorf("DispatchParcel %v held back %v, want o-1 for the courier's 1s", parcel.Message, parcel.Delay)
	}
	if s.Instance("o-1") != nil || len(s.Timeouts()) != 0 {
		t.Errorf("after completing: instance %v, timeouts %v; want neither", s.Instance("o-1"), s.Timeouts())
	}
	if fired := s.AdvanceTime(time.Hour); len(fired) != 0 {
		t.Errorf("the cancelled timeout fired: %d steps", len(fired))
	}
}

// Billed first: the order waits for OrderPlaced, which finds it billed
// and requests no timeout.
func TestShippingSagaTakesTheEventsInEitherOrder(t *testing.T) {
	s := shippingScenario(time.Second, 10*time.Minute)
	s.Handle(&billingv1.OrderBilled{OrderId: "o-1", AmountCents: 2500}).Expect(t, gobus.SagaStarted)
	placed := s.Handle(&salesv1.OrderPlaced{OrderId: "o-1", TotalCents: 2500}).Expect(t, gobus.SagaCompleted)
	if len(placed.Timeouts) != 0 {
		t.Errorf("an order already billed requested a billing timeout: %+v", placed.Timeouts)
	}
	gobustest.ExpectScheduled[*shippingv1.DispatchParcel](t, placed.Context)
}

// Placed and never billed: AdvanceTime fires BillingOverdue when it is
// due, and the saga cancels the shipment and completes.
func TestShippingSagaCancelsWhenBillingIsOverdue(t *testing.T) {
	s := shippingScenario(time.Second, 10*time.Minute)
	start := s.Now()
	s.Handle(&salesv1.OrderPlaced{OrderId: "o-1", TotalCents: 2500}).Expect(t, gobus.SagaStarted)
	if fired := s.AdvanceTime(9 * time.Minute); len(fired) != 0 {
		t.Fatalf("BillingOverdue fired %d times before it was due", len(fired))
	}
	fired := s.AdvanceTime(time.Minute)
	if len(fired) != 1 {
		t.Fatalf("%d timeouts fired at 10m, want BillingOverdue", len(fired))
	}
	overdue := fired[0].Expect(t, gobus.SagaCompleted)
	if got := overdue.Context.Time(); !got.Equal(start.Add(10 * time.Minute)) {
		t.Errorf("BillingOverdue arrived at %v, want its due time %v", got, start.Add(10*time.Minute))
	}
	cancelled := gobustest.ExpectPublished[*shippingv1.ShipmentCancelled](t, overdue.Context)
	if cancelled.GetOrderId() != "o-1" || cancelled.GetReason() != "not billed within 10m0s" {
		t.Errorf("published %v", cancelled)
	}
	if s.Instance("o-1") != nil {
		t.Error("the instance outlived its timeout")
	}
}
