package main

import (
	"io"
	"testing"

	billingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/billing/v1"
	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	"github.com/gobusdev/gobus/runtime/gobustest"
	"github.com/gobusdev/gobus/runtime/outbox"
)

// storefront → sales → billing → shipping → storefront on a real runtime,
// with the demo's own wiring, written with the test kit.
func TestOrderFlowWithTheKit(t *testing.T) {
	t.Parallel()
	bus := gobustest.Start(t, outbox.Capture())
	stop, err := startEndpoints(bus.Context(), bus.Client, mustConfig(t, "-courier", "100ms"), newFlow(io.Discard), make(chan settled, 1))
	t.Cleanup(stop)
	if err != nil {
		t.Fatal(err)
	}
	order := &salesv1.PlaceOrder{OrderId: "o-1", Items: []*salesv1.LineItem{{Sku: "mug", Quantity: 2, UnitPriceCents: 1250}}}
	if err := salesv1.SendPlaceOrder(bus.Context(), bus.Client, order); err != nil {
		t.Fatal(err)
	}
	billed := gobustest.WaitPublished[*billingv1.OrderBilled](t, bus)
	shipped := gobustest.WaitHandledBy[*shippingv1.OrderShipped](t, bus, "storefront")
	if billed.GetOrderId() != "o-1" || billed.GetAmountCents() != 2500 || shipped.GetOrderId() != "o-1" {
		t.Errorf("billed %v and shipped %v, want o-1 billed 2500 cents and shipped", billed, shipped)
	}
}
