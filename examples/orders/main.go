// Command orders is the gobus demo: a storefront places orders, sales
// accepts them, billing charges them, and shipping ships each order once
// it has seen it both placed and billed.
//
//	storefront --PlaceOrder--> sales --OrderAccepted (reply)--> storefront
//	sales --OrderPlaced--> billing, shipping
//	billing --OrderBilled--> shipping --DispatchParcel (held back 1s)--> shipping
//	shipping --OrderShipped--> storefront
//
// The storefront waits for each order's reply (RequestPlaceOrder) and
// prints it; shipping holds the parcel back on the server until the
// courier's next round (gobus.After, -courier). Shipping is a saga
// (ShippingState in its contract): what it has seen of each order lives
// in the bus's key-value store, so a restarted shipping endpoint ships
// every order once, and an order placed but not billed within
// -billing-timeout is cancelled (ShipmentCancelled) by the saga's
// timeout.
//
// With no flags it runs every endpoint in one process on an embedded
// JetStream server, places 5 orders, prints the flow and exits 0 once every
// order shipped:
//
//	go run ./examples/orders
//
// The same program runs endpoints as separate processes. One process hosts
// the embedded server on loopback and the back-office endpoints; another
// places orders:
//
//	go run ./examples/orders -listen 127.0.0.1:4222 -endpoints shipping,billing,sales
//	go run ./examples/orders -nats nats://127.0.0.1:4222 -endpoints storefront -orders 20
//
// Against a real NATS server or cluster, give every process -nats.
//
// Billing charges through the outbox (package outbox, on SQLite): each
// charge is a row in its payments table, committed with the OrderBilled it
// publishes, so a billing process killed mid-run and started again charges
// every order exactly once. Give the killed and the restarted process the
// same -billing-db:
//
//	go run ./examples/orders -nats nats://127.0.0.1:4222 -endpoints billing -billing-db billing.db
//
// -fail-billing N makes billing fail the first N attempts of each order,
// and -fail-billing always makes it fail for good, to watch the retries
// and the error stream (see the README, "When a handler fails").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what the flags say.
type config struct {
	orders    int
	timeout   time.Duration
	natsURL   string
	store     string
	billingDB string
	listen    string
	endpoints []string
	verbose   bool
	trace     bool // print the trace of one order (trace.go)
	audit     bool // copy handled messages' headers to the audit stream, for gobus ui
	// failBilling makes billing fail the first n attempts of each order;
	// -1 fails every attempt.
	failBilling int
	// courier is how long shipping holds a packed order back for the
	// courier's next round.
	courier time.Duration
	// billingTimeout is how long the shipping saga waits for an order
	// placed to be billed before it cancels the shipment.
	billingTimeout time.Duration
}

// allEndpoints lists the endpoints, subscribers before publishers, in the
// order they start.
var allEndpoints = []string{"storefront", "shipping", "billing", "sales"}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h asked for the usage, which the flag set printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	var cfg config
	var endpoints string
	fs.IntVar(&cfg.orders, "orders", 5, "how many orders the storefront places")
	fs.DurationVar(&cfg.timeout, "timeout", 45*time.Second, "how long the storefront waits for every order to ship")
	fs.StringVar(&cfg.natsURL, "nats", "", "NATS server URL; empty starts an embedded JetStream server in this process")
	fs.StringVar(&cfg.store, "store", "", "store directory of the embedded server (default: a temporary directory removed at exit)")
	fs.StringVar(&cfg.billingDB, "billing-db", "", "billing's SQLite database of payments (default: billing.db in -store, else a temporary file)")
	fs.StringVar(&cfg.listen, "listen", "", "host:port where the embedded server also accepts other processes, such as 127.0.0.1:4222")
	fs.StringVar(&endpoints, "endpoints", strings.Join(allEndpoints, ","), "comma-separated endpoints to run in this process")
	fs.BoolVar(&cfg.verbose, "v", false, "log what the runtime does")
	fs.BoolVar(&cfg.trace, "trace", false, "print the trace of the first order at the end, as OpenTelemetry recorded it")
	fs.BoolVar(&cfg.audit, "audit", false, "record each handled message in the audit stream, for the conversation view of gobus ui")
	fs.DurationVar(&cfg.courier, "courier", time.Second, "how long shipping holds a packed order back, on the server, for the courier")
	fs.DurationVar(&cfg.billingTimeout, "billing-timeout", 10*time.Minute, "how long the shipping saga waits for a placed order to be billed before it cancels the shipment (0: forever)")
	failBilling := fs.String("fail-billing", "0", "make billing fail the first N attempts of each order, or 'always'")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *failBilling == "always" {
		cfg.failBilling = -1
	} else if n, err := strconv.Atoi(*failBilling); err == nil && n >= 0 {
		cfg.failBilling = n
	} else {
		return cfg, fmt.Errorf("-fail-billing %q: give a number of attempts or 'always'", *failBilling)
	}
	for _, e := range strings.Split(endpoints, ",") {
		e = strings.TrimSpace(e)
		if !contains(allEndpoints, e) {
			return cfg, fmt.Errorf("unknown endpoint %q: choose from %s", e, strings.Join(allEndpoints, ", "))
		}
		cfg.endpoints = append(cfg.endpoints, e)
	}
	switch {
	case cfg.orders < 1:
		return cfg, fmt.Errorf("-orders %d: place at least one order", cfg.orders)
	case cfg.natsURL != "" && (cfg.listen != "" || cfg.store != ""):
		return cfg, fmt.Errorf("-listen and -store configure the embedded server; they do not go with -nats")
	}
	return cfg, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func logger(verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// run runs the configured endpoints; with the storefront among them it
// places the orders and returns once all shipped, otherwise it runs until
// ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) error {
	defer startTracing(cfg, out)() // after the client's Close, deferred below
	f := newFlow(out)
	client, cleanup, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = client.Close(closeCtx)
		cleanup()
	}()
	shipped := make(chan settled, cfg.orders)
	stopEndpoints, err := startEndpoints(ctx, client, cfg, f, shipped)
	if err != nil {
		return err
	}
	defer stopEndpoints()
	if url := client.ServerURL(); url != "" {
		f.say("embedded NATS server listening at %s", url)
	}
	if !contains(cfg.endpoints, "storefront") {
		f.say("running %s; press Ctrl-C to stop", strings.Join(cfg.endpoints, ", "))
		<-ctx.Done()
		return nil
	}
	return placeOrders(ctx, client, cfg, f, shipped)
}
