package gobustest_test

import (
	"context"
	"fmt"
	"time"

	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/gobustest"
)

// A handler called with a context from NewContext: what it gives is
// recorded, and read back by type.
func ExampleNewContext() {
	cmd := &salesv1.PlaceOrder{OrderId: "o-1", Items: []*salesv1.LineItem{{Sku: "mug", Quantity: 2, UnitPriceCents: 1250}}}
	mc := gobustest.NewContext(cmd, gobustest.WithAttempt(1))
	if err := placeOrder(context.Background(), mc, cmd); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range gobustest.Published[*salesv1.OrderPlaced](mc) {
		fmt.Println("published", e.GetOrderId(), e.GetTotalCents())
	}
	for _, r := range gobustest.Replied[*salesv1.OrderAccepted](mc) {
		fmt.Println("replied", r.GetOrderId(), r.GetTotalCents())
	}
	for _, h := range gobustest.Scheduled[*shippingv1.DispatchParcel](mc) {
		fmt.Println("held back", h.Message.GetOrderId(), "for", h.Delay)
	}
	// Output:
	// published o-1 2500
	// replied o-1 2500
	// held back o-1 for 1h0m0s
}

// Describe lists what a handler recorded, as failed expectations do.
func ExampleDescribe() {
	mc := gobustest.NewContext(&salesv1.OrderPlaced{OrderId: "o-1"})
	ctx := context.Background()
	var id string
	_ = shippingv1.SendDispatchParcel(ctx, mc, &shippingv1.DispatchParcel{OrderId: "o-1"}, gobus.After(30*time.Minute), gobus.ScheduledID(&id))
	_ = shippingv1.PublishOrderShipped(ctx, mc, &shippingv1.OrderShipped{OrderId: "o-0"})
	fmt.Println(gobustest.Describe(mc))
	// Output:
	//   scheduled (in 30m0s) command shop.shipping.v1.DispatchParcel{order_id:"o-1"}
	//   published shop.shipping.v1.OrderShipped{order_id:"o-0"}
}
