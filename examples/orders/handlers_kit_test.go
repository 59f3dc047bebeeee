package main

import (
	"context"
	"io"
	"strings"
	"testing"

	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	"github.com/gobusdev/gobus/runtime/gobustest"
)

// Unit tests of the handlers with the test kit: each handler is called
// with a context from gobustest.NewContext, and what it sends, publishes
// and replies is read back by type. No server runs.

func TestSalesAcceptsAndPublishesTheTotal(t *testing.T) {
	cmd := &salesv1.PlaceOrder{OrderId: "o-1", Items: []*salesv1.LineItem{
		{Sku: "mug", Quantity: 2, UnitPriceCents: 1250},
		{Sku: "tea", Quantity: 1, UnitPriceCents: 499},
	}}
	mc := gobustest.NewContext(cmd)
	if err := (&sales{flow: newFlow(io.Discard)}).HandlePlaceOrder(context.Background(), mc, cmd); err != nil {
		t.Fatal(err)
	}
	accepted := gobustest.ExpectReplied[*salesv1.OrderAccepted](t, mc)
	placed := gobustest.ExpectPublished[*salesv1.OrderPlaced](t, mc)
	if accepted.GetOrderId() != "o-1" || accepted.GetTotalCents() != 2999 {
		t.Errorf("replied %v, want o-1 for 2999 cents", accepted)
	}
	if placed.GetOrderId() != "o-1" || placed.GetTotalCents() != 2999 {
		t.Errorf("published %v, want o-1 for 2999 cents", placed)
	}
}

// Billing fails the attempts -fail-billing says, before it charges
// anything, and publishes nothing for them.
func TestBillingFailsTheFirstAttempts(t *testing.T) {
	e := &salesv1.OrderPlaced{OrderId: "o-1", TotalCents: 2500}
	b := &billing{flow: newFlow(io.Discard), failFirst: 2}
	for attempt := 1; attempt <= 2; attempt++ {
		mc := gobustest.NewContext(e, gobustest.WithAttempt(attempt))
		err := b.HandleOrderPlaced(context.Background(), mc, e)
		if err == nil || !strings.Contains(err.Error(), "card processor unavailable") {
			t.Errorf("attempt %d: %v, want the card processor's failure", attempt, err)
		}
		gobustest.ExpectNothing(t, mc)
	}
}

// Billing charges in its outbox transaction: called without one (as a
// handler of an endpoint without the outbox), it refuses, and publishes
// no OrderBilled for a payment it did not record.
func TestBillingRefusesToChargeWithoutItsOutbox(t *testing.T) {
	e := &salesv1.OrderPlaced{OrderId: "o-1", TotalCents: 2500}
	mc := gobustest.NewContext(e, gobustest.WithAttempt(3))
	err := (&billing{flow: newFlow(io.Discard), failFirst: 2}).HandleOrderPlaced(context.Background(), mc, e)
	if err == nil || !strings.Contains(err.Error(), "without its outbox") {
		t.Errorf("charging without the outbox: %v, want a refusal", err)
	}
	gobustest.ExpectNothing(t, mc)
}

// The storefront reports a shipped order to whoever waits for it, and
// sends nothing.
func TestStorefrontReportsShippedOrders(t *testing.T) {
	shipped := make(chan settled, 1)
	e := &shippingv1.OrderShipped{OrderId: "o-1"}
	mc := gobustest.NewContext(e, gobustest.WithEndpoint("storefront"))
	if err := (&storefront{flow: newFlow(io.Discard), shipped: shipped}).HandleOrderShipped(context.Background(), mc, e); err != nil {
		t.Fatal(err)
	}
	if got := <-shipped; got != (settled{id: "o-1"}) {
		t.Errorf("reported %+v, want o-1 shipped", got)
	}
	gobustest.ExpectNothing(t, mc)
}
