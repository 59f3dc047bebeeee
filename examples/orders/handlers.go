package main

import (
	"context"
	"fmt"
	"sync"
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
// whichever order the two events arrive: it packs it and sends itself a
// DispatchParcel held back until the courier's next round, courier later.
// It keeps what it has seen in memory: enough for a demo with one
// shipping instance; a saga would keep it durably.
type shipping struct {
	shippingv1.UnimplementedShippingHandler
	flow    *flow
	courier time.Duration
	mu      sync.Mutex
	seen    map[string]*orderProgress
}

type orderProgress struct{ placed, billed bool }

func newShipping(f *flow, courier time.Duration) *shipping {
	return &shipping{flow: f, courier: courier, seen: map[string]*orderProgress{}}
}

func (s *shipping) HandleOrderPlaced(ctx context.Context, mc *gobus.MessageContext, e *salesv1.OrderPlaced) error {
	return s.progress(ctx, mc, "OrderPlaced", e.GetOrderId(), func(p *orderProgress) { p.placed = true })
}

func (s *shipping) HandleOrderBilled(ctx context.Context, mc *gobus.MessageContext, e *billingv1.OrderBilled) error {
	return s.progress(ctx, mc, "OrderBilled", e.GetOrderId(), func(p *orderProgress) { p.billed = true })
}

func (s *shipping) progress(ctx context.Context, mc *gobus.MessageContext, event, orderID string, mark func(*orderProgress)) error {
	s.mu.Lock()
	p := s.seen[orderID]
	if p == nil {
		p = &orderProgress{}
		s.seen[orderID] = p
	}
	mark(p)
	ready := p.placed && p.billed
	s.mu.Unlock()
	if !ready {
		s.flow.step("shipping", event, orderID, "noted, waits for the other event")
		return nil
	}
	s.flow.step("shipping", event, orderID, fmt.Sprintf("placed and billed, packed; DispatchParcel held back %s for the courier", s.courier))
	return shippingv1.SendDispatchParcel(ctx, mc, &shippingv1.DispatchParcel{OrderId: orderID}, gobus.After(s.courier))
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
	shipped chan<- string
}

func (s *storefront) HandleOrderShipped(ctx context.Context, mc *gobus.MessageContext, e *shippingv1.OrderShipped) error {
	s.flow.step("storefront", "OrderShipped", e.GetOrderId(), "shipped")
	select {
	case s.shipped <- e.GetOrderId():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
