package main

import (
	"context"
	"fmt"
	"time"

	billingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/billing/v1"
	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// sales accepts orders and tells the world.
type sales struct {
	salesv1.UnimplementedSalesHandler
	flow *flow
}

func (s *sales) HandlePlaceOrder(ctx context.Context, mc *gobus.MessageContext, cmd *salesv1.PlaceOrder) error {
	var total int64
	for _, item := range cmd.GetItems() {
		total += int64(item.GetQuantity()) * item.GetUnitPriceCents()
	}
	s.flow.step("sales", "PlaceOrder", cmd.GetOrderId(), "accepted, replies OrderAccepted, publishes OrderPlaced")
	if err := salesv1.ReplyOrderAccepted(ctx, mc, &salesv1.OrderAccepted{OrderId: cmd.GetOrderId(), TotalCents: total}); err != nil {
		return err
	}
	return salesv1.PublishOrderPlaced(ctx, mc, &salesv1.OrderPlaced{OrderId: cmd.GetOrderId(), TotalCents: total})
}

// billing charges placed orders. failFirst makes it fail the first
// attempts of each order (-1: every attempt), to show retries and the
// error stream.
type billing struct {
	flow      *flow
	failFirst int
}

func (b *billing) HandleOrderPlaced(ctx context.Context, mc *gobus.MessageContext, e *salesv1.OrderPlaced) error {
	if b.failFirst < 0 || mc.Attempt() <= b.failFirst {
		b.flow.step("billing", "OrderPlaced", e.GetOrderId(), fmt.Sprintf("fails on attempt %d: the card processor is down", mc.Attempt()))
		return fmt.Errorf("card processor unavailable (attempt %d)", mc.Attempt())
	}
	if err := charge(ctx, e.GetOrderId(), e.GetTotalCents()); err != nil {
		return err
	}
	b.flow.step("billing", "OrderPlaced", e.GetOrderId(), "charged "+money(e.GetTotalCents())+", publishes OrderBilled")
	return billingv1.PublishOrderBilled(ctx, mc, &billingv1.OrderBilled{OrderId: e.GetOrderId(), AmountCents: e.GetTotalCents()})
}

// shipping ships an order once it has seen it placed and billed, in
// whichever order the two events arrive: it is a saga (ShippingState in
// the contract), whose state per order lives in the bus's key-value store,
// so a restarted shipping endpoint, or another instance of it, carries on
// where the last event left each order. Once both came, it packs the
// order and sends itself a DispatchParcel held back until the courier's
// next round, courier later. An order placed but not billed within
// billingTimeout is cancelled by the saga's BillingOverdue timeout.
type shipping struct {
	shippingv1.UnimplementedShippingHandler
	flow           *flow
	courier        time.Duration
	billingTimeout time.Duration
}

func newShipping(f *flow, courier, billingTimeout time.Duration) *shipping {
	return &shipping{flow: f, courier: courier, billingTimeout: billingTimeout}
}

// shippingSaga is the saga's side of shipping.
type shippingSaga struct{ *shipping }

func (s shippingSaga) HandleOrderPlaced(ctx context.Context, sc *gobus.SagaContext[*shippingv1.ShippingState], e *salesv1.OrderPlaced) error {
	sc.State().Placed = true
	if !sc.State().GetBilled() && s.billingTimeout > 0 {
		if err := shippingv1.RequestShippingBillingOverdue(ctx, sc, s.billingTimeout, &shippingv1.BillingOverdue{OrderId: e.GetOrderId()}); err != nil {
			return err
		}
	}
	return s.progress(ctx, sc, "OrderPlaced")
}

func (s shippingSaga) HandleOrderBilled(ctx context.Context, sc *gobus.SagaContext[*shippingv1.ShippingState], e *billingv1.OrderBilled) error {
	sc.State().Billed = true
	return s.progress(ctx, sc, "OrderBilled")
}

// TimeoutBillingOverdue runs when billing has not happened in time: the
// saga cancels the shipment and completes.
func (s shippingSaga) TimeoutBillingOverdue(ctx context.Context, sc *gobus.SagaContext[*shippingv1.ShippingState], t *shippingv1.BillingOverdue) error {
	s.flow.step("shipping", "BillingOverdue", t.GetOrderId(), fmt.Sprintf("not billed within %s: cancels the shipment, publishes ShipmentCancelled", s.billingTimeout))
	sc.Complete()
	return shippingv1.PublishShipmentCancelled(ctx, sc, &shippingv1.ShipmentCancelled{OrderId: t.GetOrderId(), Reason: "not billed within " + s.billingTimeout.String()})
}

func (s shippingSaga) progress(ctx context.Context, sc *gobus.SagaContext[*shippingv1.ShippingState], event string) error {
	st := sc.State()
	if !st.GetPlaced() || !st.GetBilled() {
		s.flow.step("shipping", event, st.GetOrderId(), "noted in the saga's state, waits for the other event")
		return nil
	}
	// Completing cancels the BillingOverdue timeout.
	sc.Complete()
	s.flow.step("shipping", event, st.GetOrderId(), fmt.Sprintf("placed and billed, packed, saga completed; DispatchParcel held back %s for the courier", s.courier))
	return shippingv1.SendDispatchParcel(ctx, sc, &shippingv1.DispatchParcel{OrderId: st.GetOrderId()}, gobus.After(s.courier))
}

// HandleDispatchParcel runs when the courier comes: the server held the
// command back since shipping sent it (its ce-time).
func (s *shipping) HandleDispatchParcel(ctx context.Context, mc *gobus.MessageContext, cmd *shippingv1.DispatchParcel) error {
	waited := time.Since(mc.Time()).Round(10 * time.Millisecond)
	s.flow.step("shipping", "DispatchParcel", cmd.GetOrderId(), fmt.Sprintf("the courier came after %s, publishes OrderShipped", waited))
	return shippingv1.PublishOrderShipped(ctx, mc, &shippingv1.OrderShipped{OrderId: cmd.GetOrderId()})
}

// storefront places orders and watches them ship.
type storefront struct {
	flow    *flow
	shipped chan<- settled
}

func (s *storefront) HandleOrderShipped(ctx context.Context, mc *gobus.MessageContext, e *shippingv1.OrderShipped) error {
	s.flow.step("storefront", "OrderShipped", e.GetOrderId(), "shipped")
	select {
	case s.shipped <- settled{id: e.GetOrderId()}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settled is an order that shipped, or whose shipment was cancelled.
type settled struct {
	id        string
	cancelled bool
}

// HandleShipmentCancelled reports an order shipping gave up on.
func (s *storefront) HandleShipmentCancelled(ctx context.Context, mc *gobus.MessageContext, e *shippingv1.ShipmentCancelled) error {
	s.flow.step("storefront", "ShipmentCancelled", e.GetOrderId(), "cancelled: "+e.GetReason())
	select {
	case s.shipped <- settled{id: e.GetOrderId(), cancelled: true}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
