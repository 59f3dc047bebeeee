package gobustest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	billingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/billing/v1"
	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/gobustest"
)

// The flow of the orders example on a real runtime: sales publishes,
// billing bills, shipping holds the parcel back on the server and ships.
func startShop(t *testing.T) *gobustest.Bus {
	bus := gobustest.Start(t)
	bus.Endpoint("shipping", func(ep *gobus.Endpoint) error {
		if err := gobus.HandleEvent(ep, billingv1.OrderBilledRoute, func(ctx context.Context, mc *gobus.MessageContext, e *billingv1.OrderBilled) error {
			return shippingv1.SendDispatchParcel(ctx, mc, &shippingv1.DispatchParcel{OrderId: e.GetOrderId()}, gobus.After(100*time.Millisecond))
		}); err != nil {
			return err
		}
		return gobus.HandleCommand(ep, shippingv1.DispatchParcelRoute, func(ctx context.Context, mc *gobus.MessageContext, c *shippingv1.DispatchParcel) error {
			return shippingv1.PublishOrderShipped(ctx, mc, &shippingv1.OrderShipped{OrderId: c.GetOrderId()})
		})
	})
	bus.Endpoint("billing", func(ep *gobus.Endpoint) error {
		return gobus.HandleEvent(ep, salesv1.OrderPlacedRoute, func(ctx context.Context, mc *gobus.MessageContext, e *salesv1.OrderPlaced) error {
			if e.GetTotalCents() > 100_000 {
				return gobus.Unrecoverable(errors.New("card declined"))
			}
			return billingv1.PublishOrderBilled(ctx, mc, &billingv1.OrderBilled{OrderId: e.GetOrderId(), AmountCents: e.GetTotalCents()})
		})
	}, gobus.WithRetryPolicy(gobus.NoRetries()))
	bus.Endpoint("sales", func(ep *gobus.Endpoint) error {
		return gobus.HandleCommand(ep, salesv1.PlaceOrderRoute, func(ctx context.Context, mc *gobus.MessageContext, c *salesv1.PlaceOrder) error {
			return placeOrder(ctx, mc, c)
		})
	})
	return bus
}

func TestFlowThroughEveryEndpoint(t *testing.T) {
	t.Parallel()
	bus := startShop(t)
	if err := salesv1.SendPlaceOrder(bus.Context(), bus.Client, order("o-1")); err != nil {
		t.Fatal(err)
	}
	gobustest.WaitSent[*salesv1.PlaceOrder](t, bus)
	billed := gobustest.WaitPublished[*billingv1.OrderBilled](t, bus, func(e *billingv1.OrderBilled) bool { return e.GetOrderId() == "o-1" })
	if billed.GetAmountCents() != 2500 {
		t.Errorf("billed %d cents, want 2500", billed.GetAmountCents())
	}
	gobustest.WaitHandledBy[*shippingv1.DispatchParcel](t, bus, "shipping")
	gobustest.WaitPublished[*shippingv1.OrderShipped](t, bus, func(e *shippingv1.OrderShipped) bool { return e.GetOrderId() == "o-1" })
	// Sales holds a DispatchParcel back for an hour too; which of the two
	// handlings is recorded last is up to the scheduler.
	var held []gobustest.Event
	for _, e := range bus.Events() {
		if e.Type == shippingv1.DispatchParcelType && e.What == gobustest.WhatSent && e.Endpoint == "shipping" {
			held = append(held, e)
		}
	}
	if len(held) != 1 || held[0].DeliverAt.IsZero() {
		t.Errorf("DispatchParcel sent by shipping recorded as %v, want once, held back", held)
	}
}

func TestFlowToTheErrorStream(t *testing.T) {
	t.Parallel()
	bus := startShop(t)
	big := &salesv1.PlaceOrder{OrderId: "o-big", Items: []*salesv1.LineItem{{Sku: "car", Quantity: 1, UnitPriceCents: 2_000_000}}}
	if err := salesv1.SendPlaceOrder(bus.Context(), bus.Client, big); err != nil {
		t.Fatal(err)
	}
	f := gobustest.WaitFailed[*salesv1.OrderPlaced](t, bus)
	if f.Message.GetOrderId() != "o-big" || f.Endpoint != "billing" || f.Kind != "unrecoverable" || !strings.Contains(f.Error, "card declined") {
		t.Errorf("failure %+v, want o-big failed unrecoverably at billing with card declined", f)
	}
}

// A wait that times out says what it waited for and what the bus saw.
func TestFailedWaitSaysWhatTheBusSaw(t *testing.T) {
	t.Parallel()
	bus := startShop(t)
	if err := salesv1.SendPlaceOrder(bus.Context(), bus.Client, order("o-2")); err != nil {
		t.Fatal(err)
	}
	gobustest.WaitHandledBy[*billingv1.OrderBilled](t, bus, "shipping")
	bus.Timeout = 200 * time.Millisecond
	got := failure(t, func(tb testing.TB) {
		gobustest.WaitHandled[*shippingv1.OrderShipped](tb, bus)
	})
	for _, want := range []string{
		"gobustest: waited 200ms for a handled shop.shipping.v1.OrderShipped; the bus saw:\n",
		`  sent shop.sales.v1.PlaceOrder{order_id:"o-2" items:[{sku:"mug" quantity:2 unit_price_cents:1250}]}` + "\n",
		`  handled shop.sales.v1.PlaceOrder{order_id:"o-2" items:[{sku:"mug" quantity:2 unit_price_cents:1250}]} at sales` + "\n",
		`  published shop.sales.v1.OrderPlaced{order_id:"o-2" total_cents:2500} at sales`,
		`  handled shop.billing.v1.OrderBilled{order_id:"o-2" amount_cents:2500} at shipping`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failure message lacks %q:\n%s", want, got)
		}
	}
}
