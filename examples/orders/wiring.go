package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
)

// connect connects to -nats, or starts the embedded server. cleanup
// removes the temporary store, if any, once the client is closed.
func connect(ctx context.Context, cfg config) (c *gobus.Client, cleanup func(), err error) {
	opts := []gobus.Option{gobus.WithLogger(logger(cfg.verbose)), gobus.WithSource("storefront"), outbox.Capture()}
	if cfg.audit {
		opts = append(opts, gobus.WithAudit())
	}
	cleanup = func() {}
	if cfg.natsURL != "" {
		c, err = gobus.Connect(ctx, append(opts, gobus.WithURL(cfg.natsURL))...)
		return c, cleanup, err
	}
	store := cfg.store
	if store == "" {
		dir, err := os.MkdirTemp("", "gobus-orders-")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
		store = dir
	}
	embedded := gobus.EmbeddedServer{StoreDir: store, Listen: cfg.listen}
	c, err = gobus.Connect(ctx, append(opts, gobus.WithEmbeddedServer(embedded))...)
	if err != nil {
		cleanup()
	}
	return c, cleanup, err
}

// startEndpoints creates, registers and starts each named endpoint; stop
// closes billing's database, if billing runs here.
func startEndpoints(ctx context.Context, c *gobus.Client, cfg config, f *flow, shipped chan<- settled) (stop func(), err error) {
	stop = func() {}
	names := cfg.endpoints
	register := map[string]func(*gobus.Endpoint) error{
		"sales": func(ep *gobus.Endpoint) error {
			return salesv1.RegisterSalesHandler(ep, &sales{flow: f})
		},
		"billing": func(ep *gobus.Endpoint) error {
			return salesv1.RegisterOrderPlacedHandler(ep, &billing{flow: f, failFirst: cfg.failBilling})
		},
		"shipping": func(ep *gobus.Endpoint) error {
			s := newShipping(f, cfg.courier, cfg.billingTimeout)
			if err := shippingv1.RegisterShippingHandler(ep, s); err != nil {
				return err
			}
			return shippingv1.RegisterShippingSaga(ep, shippingSaga{s})
		},
		"storefront": func(ep *gobus.Endpoint) error {
			sf := &storefront{flow: f, shipped: shipped}
			if err := shippingv1.RegisterOrderShippedHandler(ep, sf); err != nil {
				return err
			}
			return shippingv1.RegisterShipmentCancelledHandler(ep, sf)
		},
	}
	// Subscribers start before the endpoints that publish to them: a new
	// subscription receives the events published after it first started.
	for _, name := range allEndpoints {
		if !contains(names, name) {
			continue
		}
		var opts []gobus.EndpointOption
		if name == "billing" {
			p, err := openPayments(ctx, c, billingDB(cfg))
			if err != nil {
				return stop, err
			}
			stop = func() { p.close(context.WithoutCancel(ctx)) }
			opts = append(opts, p.ob.Endpoint())
		}
		ep, err := gobus.NewEndpoint(c, name, opts...)
		if err != nil {
			return stop, err
		}
		if err := register[name](ep); err != nil {
			return stop, fmt.Errorf("endpoint %s: %w", name, err)
		}
		if err := ep.Start(ctx); err != nil {
			return stop, err
		}
	}
	return stop, nil
}

// placeOrders sends the orders and waits until each one shipped.
func placeOrders(ctx context.Context, c *gobus.Client, cfg config, f *flow, shipped <-chan settled) error {
	run := newRunID()
	pending := map[string]bool{}
	f.say("placing %d orders (run %s)", cfg.orders, run)
	// Each order is a request of its own, all at once: while sales is
	// down they wait in its queue, and their replies come when it is back.
	errs := make(chan error, cfg.orders)
	for i := 1; i <= cfg.orders; i++ {
		id := fmt.Sprintf("%s-%02d", run, i)
		order := &salesv1.PlaceOrder{OrderId: id, Items: []*salesv1.LineItem{
			{Sku: "mug", Quantity: uint32(i), UnitPriceCents: 1250},
		}}
		f.step("storefront", "PlaceOrder", id, "requests the order from sales")
		pending[id] = true
		go func() { errs <- placeOrder(ctx, c, cfg, f, order) }()
	}
	for range cfg.orders {
		if err := <-errs; err != nil {
			return err
		}
	}
	start := time.Now()
	cancelled := 0
	timeout := time.NewTimer(cfg.timeout)
	defer timeout.Stop()
	for len(pending) > 0 {
		select {
		case o := <-shipped:
			if o.cancelled && pending[o.id] {
				cancelled++
			}
			delete(pending, o.id)
		case <-timeout.C:
			return fmt.Errorf("timed out after %s: %d of %d orders shipped; still waiting for %s",
				cfg.timeout, cfg.orders-len(pending), cfg.orders, strings.Join(sortedKeys(pending), ", "))
		case <-ctx.Done():
			return fmt.Errorf("interrupted with %d of %d orders shipped", cfg.orders-len(pending), cfg.orders)
		}
	}
	if cancelled > 0 {
		f.say("all %d orders settled in %s: %d shipped, %d cancelled by the shipping saga's billing timeout", cfg.orders, time.Since(start).Round(time.Millisecond), cfg.orders-cancelled, cancelled)
		return nil
	}
	f.say("all %d orders placed, billed and shipped in %s", cfg.orders, time.Since(start).Round(time.Millisecond))
	return nil
}

// placeOrder requests one order from sales and prints its reply. The
// order id is the message id: a retried request is one order.
func placeOrder(ctx context.Context, c *gobus.Client, cfg config, f *flow, order *salesv1.PlaceOrder) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	accepted, err := salesv1.RequestPlaceOrder(ctx, c, order, gobus.WithMessageID(order.GetOrderId()))
	if err != nil {
		return fmt.Errorf("placing order %s: %w", order.GetOrderId(), err)
	}
	f.step("storefront", "OrderAccepted", accepted.GetOrderId(), "sales replied: total "+money(accepted.GetTotalCents()))
	return nil
}

func newRunID() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
