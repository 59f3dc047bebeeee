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

// placeOrder is a handler as a user writes one: it replies, publishes,
// and holds a reminder back.
func placeOrder(ctx context.Context, mc *gobus.MessageContext, cmd *salesv1.PlaceOrder) error {
	var total int64
	for _, it := range cmd.GetItems() {
		total += int64(it.GetQuantity()) * it.GetUnitPriceCents()
	}
	if err := salesv1.ReplyOrderAccepted(ctx, mc, &salesv1.OrderAccepted{OrderId: cmd.GetOrderId(), TotalCents: total}); err != nil {
		return err
	}
	if err := salesv1.PublishOrderPlaced(ctx, mc, &salesv1.OrderPlaced{OrderId: cmd.GetOrderId(), TotalCents: total}); err != nil {
		return err
	}
	return shippingv1.SendDispatchParcel(ctx, mc, &shippingv1.DispatchParcel{OrderId: cmd.GetOrderId()}, gobus.After(time.Hour))
}

func order(id string) *salesv1.PlaceOrder {
	return &salesv1.PlaceOrder{OrderId: id, Items: []*salesv1.LineItem{{Sku: "mug", Quantity: 2, UnitPriceCents: 1250}}}
}

func TestRecordsWhatTheHandlerGave(t *testing.T) {
	mc := gobustest.NewContext(order("o-1"))
	if err := placeOrder(context.Background(), mc, order("o-1")); err != nil {
		t.Fatal(err)
	}
	if got := gobustest.ExpectReplied[*salesv1.OrderAccepted](t, mc); got.GetTotalCents() != 2500 {
		t.Errorf("replied total %d, want 2500", got.GetTotalCents())
	}
	if got := gobustest.ExpectPublished[*salesv1.OrderPlaced](t, mc); got.GetOrderId() != "o-1" {
		t.Errorf("published %v", got)
	}
	held := gobustest.ExpectScheduled[*shippingv1.DispatchParcel](t, mc)
	if held.Delay != time.Hour || held.Kind != gobus.KindCommand {
		t.Errorf("held back %v as a %v, want 1h as a command", held.Delay, held.Kind)
	}
	if !strings.HasPrefix(held.ScheduledID, "cmd.shipping.") {
		t.Errorf("schedule id %q, want one of the shipping endpoint's", held.ScheduledID)
	}
	if n := len(gobustest.Sent[*shippingv1.DispatchParcel](mc)); n != 0 {
		t.Errorf("a held-back command is listed as sent at once %d times", n)
	}
	if n := len(gobustest.Published[*billingv1.OrderBilled](mc)); n != 0 {
		t.Errorf("%d OrderBilled published, want none", n)
	}
}

func TestContextSaysWhatTheTestChose(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mc := gobustest.NewContext(&salesv1.OrderPlaced{}, gobustest.WithID("m-1"), gobustest.WithCorrelationID("c-1"),
		gobustest.WithCausationID("m-0"), gobustest.WithSource("sales"), gobustest.WithEndpoint("billing"),
		gobustest.WithAttempt(3), gobustest.WithDelivery(2), gobustest.WithTime(at), gobustest.WithHeader("x-tenant", "acme"),
		gobustest.WithSubject("gobus.evt.shop.sales.v1.OrderPlaced"))
	got := []any{mc.ID(), mc.CorrelationID(), mc.CausationID(), mc.Source(), mc.Endpoint(), mc.Attempt(), mc.Delivery(), mc.Time(), mc.Header("x-tenant"), mc.Subject(), mc.Type()}
	want := []any{"m-1", "c-1", "m-0", "sales", "billing", 3, 2, at, "acme", "gobus.evt.shop.sales.v1.OrderPlaced", salesv1.OrderPlacedType}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %v, want %v", i, got[i], want[i])
		}
	}
	def := gobustest.NewContext(&salesv1.OrderPlaced{})
	if def.ID() == "" || def.CorrelationID() != def.ID() || def.Attempt() != 1 || def.Delivery() != 1 || def.Endpoint() != "test" {
		t.Errorf("defaults: id %q correlation %q attempt %d delivery %d endpoint %q", def.ID(), def.CorrelationID(), def.Attempt(), def.Delivery(), def.Endpoint())
	}
}

func TestScheduledIDCancelsThroughTheContext(t *testing.T) {
	ctx := context.Background()
	mc := gobustest.NewContext(&salesv1.OrderPlaced{OrderId: "o-1"})
	var id string
	if err := shippingv1.SendDispatchParcel(ctx, mc, &shippingv1.DispatchParcel{OrderId: "o-1"}, gobus.After(time.Minute), gobus.ScheduledID(&id)); err != nil {
		t.Fatal(err)
	}
	if id == "" || id != gobustest.Scheduled[*shippingv1.DispatchParcel](mc)[0].ScheduledID {
		t.Fatalf("ScheduledID gave %q, the record says %q", id, gobustest.Scheduled[*shippingv1.DispatchParcel](mc)[0].ScheduledID)
	}
	if err := mc.CancelScheduled(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := gobustest.Cancelled(mc); len(got) != 1 || got[0] != id {
		t.Errorf("cancelled %q, want [%s]", got, id)
	}
	if err := mc.CancelScheduled(ctx, "not-an-id"); !errors.Is(err, gobus.ErrInvalidOption) {
		t.Errorf("cancelling a made-up id: %v, want ErrInvalidOption", err)
	}
}

func TestAtRecordsTheDelayFromNow(t *testing.T) {
	mc := gobustest.NewContext(&salesv1.OrderPlaced{})
	due := time.Now().Add(2 * time.Hour)
	if err := salesv1.PublishOrderPlaced(context.Background(), mc, &salesv1.OrderPlaced{OrderId: "o-2"}, gobus.At(due)); err != nil {
		t.Fatal(err)
	}
	held := gobustest.ExpectScheduled[*salesv1.OrderPlaced](t, mc)
	if !held.DeliverAt.Equal(due) || held.Kind != gobus.KindEvent || held.Delay <= time.Hour || held.Delay > 2*time.Hour {
		t.Errorf("held %+v, want due at %v, about 2h ahead", held, due)
	}
}

func TestReplyOutsideTheContractIsRefused(t *testing.T) {
	mc := gobustest.NewContext(&salesv1.OrderPlaced{})
	err := salesv1.ReplyOrderAccepted(context.Background(), mc, &salesv1.OrderAccepted{})
	if err == nil || !strings.Contains(err.Error(), "does not declare reply shop.sales.v1.OrderAccepted") {
		t.Errorf("replying to an event: %v, want the contract's refusal", err)
	}
	gobustest.ExpectNothing(t, mc)
}

func TestNilMessageIsRefused(t *testing.T) {
	mc := gobustest.NewContext(&salesv1.PlaceOrder{})
	if err := salesv1.PublishOrderPlaced(context.Background(), mc, nil); err == nil {
		t.Error("publishing nil succeeded")
	}
}

// A failed expectation says what was wanted and lists everything the
// handler did record, each message with its fields.
func TestFailedExpectationSaysWhatWasRecorded(t *testing.T) {
	mc := gobustest.NewContext(order("o-1"))
	if err := placeOrder(context.Background(), mc, order("o-1")); err != nil {
		t.Fatal(err)
	}
	got := failure(t, func(tb testing.TB) { gobustest.ExpectPublished[*billingv1.OrderBilled](tb, mc) })
	want := `[gobustest: want one shop.billing.v1.OrderBilled published by the handler of shop.sales.v1.PlaceOrder, got 0; it recorded:
  replied shop.sales.v1.OrderAccepted{order_id:"o-1" total_cents:2500}
  published shop.sales.v1.OrderPlaced{order_id:"o-1" total_cents:2500}
  scheduled (in 1h0m0s) command shop.shipping.v1.DispatchParcel{order_id:"o-1"}]`
	if got != want {
		t.Errorf("failure message:\n%s\nwant:\n%s", got, want)
	}
	got = failure(t, func(tb testing.TB) { gobustest.ExpectNothing(tb, mc) })
	if !strings.HasPrefix(got, "[gobustest: want nothing dispatched by the handler of shop.sales.v1.PlaceOrder; it recorded:\n  replied") {
		t.Errorf("ExpectNothing's failure: %s", got)
	}
	empty := gobustest.NewContext(order("o-2"))
	got = failure(t, func(tb testing.TB) { gobustest.ExpectSent[*shippingv1.DispatchParcel](tb, empty) })
	if want := "[gobustest: want one shop.shipping.v1.DispatchParcel sent by the handler of shop.sales.v1.PlaceOrder, got 0; it recorded:\n  (nothing)]"; got != want {
		t.Errorf("failure message:\n%s\nwant:\n%s", got, want)
	}
	if got := failure(t, func(tb testing.TB) { gobustest.ExpectNothing(tb, empty) }); got != "" {
		t.Errorf("ExpectNothing failed on an empty context: %s", got)
	}
}
