package main

import (
	"context"
	"fmt"
	"sync"

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
	s.flow.step("sales", "PlaceOrder", cmd.GetOrderId(), "accepted, publishes OrderPlaced")
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
	b.flow.step("billing", "OrderPlaced", e.GetOrderId(), "charged "+money(e.GetTotalCents())+", publishes OrderBilled")
	return billingv1.PublishOrderBilled(ctx, mc, &billingv1.OrderBilled{OrderId: e.GetOrderId(), AmountCents: e.GetTotalCents()})
}

// shipping ships an order once it has seen it placed and billed, in
// whichever order the two events arrive. It keeps what it has seen in
// memory: enough for a demo with one shipping instance; a saga would keep
// it durably.
type shipping struct {
	flow *flow
	mu   sync.Mutex
	seen map[string]*orderProgress
}

type orderProgress struct{ placed, billed bool }

func newShipping(f *flow) *shipping { return &shipping{flow: f, seen: map[string]*orderProgress{}} }

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
	s.flow.step("shipping", event, orderID, "placed and billed, publishes OrderShipped")
	return shippingv1.PublishOrderShipped(ctx, mc, &shippingv1.OrderShipped{OrderId: orderID})
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
