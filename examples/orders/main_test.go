package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
)

// syncBuffer is an io.Writer that tests can read while endpoints write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) count(substr string) int { return strings.Count(b.String(), substr) }

// waitForOutput waits until out holds substr n times.
func waitForOutput(t *testing.T, out *syncBuffer, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for out.count(substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d × %q in:\n%s", n, substr, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustConfig(t *testing.T, args ...string) config {
	t.Helper()
	cfg, err := parseFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The demo as `go run ./examples/orders` runs it: every order placed,
// billed and shipped, exactly once each.
func TestAllEndpointsInOneProcess(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	cfg := mustConfig(t, "-orders", "20", "-store", t.TempDir(), "-timeout", "30s")
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, step := range []string{"sales       PlaceOrder", "storefront  OrderAccepted", "billing     OrderPlaced",
		"shipping    DispatchParcel", "storefront  OrderShipped"} {
		if got := out.count(step); got != 20 {
			t.Errorf("%q appears %d times, want 20:\n%s", step, got, out.String())
		}
	}
	if !strings.Contains(out.String(), "all 20 orders placed, billed and shipped") {
		t.Errorf("no summary line:\n%s", out.String())
	}
}

// The endpoints as separate programs on one server: the back office hosts
// the embedded server on loopback, the storefront connects by URL.
func TestEndpointsInSeparateProcesses(t *testing.T) {
	t.Parallel()
	url := natstest.RunServer(t).ClientURL()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var backOfficeOut syncBuffer
	backOfficeDone := make(chan error, 1)
	go func() {
		backOfficeDone <- run(ctx, mustConfig(t, "-nats", url, "-endpoints", "shipping,billing,sales"), &backOfficeOut)
	}()
	waitForOutput(t, &backOfficeOut, "press Ctrl-C to stop", 1)

	var out syncBuffer
	if err := run(ctx, mustConfig(t, "-nats", url, "-endpoints", "storefront", "-orders", "10", "-timeout", "30s"), &out); err != nil {
		t.Fatalf("storefront: %v\n%s\nback office:\n%s", err, out.String(), backOfficeOut.String())
	}
	if got := backOfficeOut.count("sales       PlaceOrder"); got != 10 {
		t.Errorf("sales handled %d orders, want 10", got)
	}
	cancel()
	if err := <-backOfficeDone; err != nil {
		t.Errorf("back office: %v", err)
	}
}

// Orders sent while sales is down wait in its queue; sales handles all of
// them once it starts, and every order ships.
func TestOrdersSentWhileSalesIsDown(t *testing.T) {
	t.Parallel()
	url := natstest.RunServer(t).ClientURL()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	storeDone := make(chan error, 1)
	go func() {
		storeDone <- run(ctx, mustConfig(t, "-nats", url, "-endpoints", "storefront,billing,shipping", "-orders", "8", "-timeout", "30s"), &out)
	}()
	waitForOutput(t, &out, "requests the order from sales", 8)

	var salesOut syncBuffer
	salesDone := make(chan error, 1)
	go func() { salesDone <- run(ctx, mustConfig(t, "-nats", url, "-endpoints", "sales"), &salesOut) }()
	select {
	case err := <-storeDone:
		if err != nil {
			t.Fatalf("storefront: %v\n%s", err, out.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("orders not shipped:\n%s", out.String())
	}
	if got := salesOut.count("sales       PlaceOrder"); got != 8 {
		t.Errorf("sales handled %d orders after starting, want 8:\n%s", got, salesOut.String())
	}
	cancel()
	if err := <-salesDone; err != nil {
		t.Errorf("sales: %v", err)
	}
}

// A billing failure is retried under the default policy and every order
// still ships once.
func TestBillingFailuresAreRetried(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	cfg := mustConfig(t, "-orders", "3", "-store", t.TempDir(), "-timeout", "30s", "-fail-billing", "2")
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if got := out.count("fails on attempt 2"); got != 3 {
		t.Errorf("billing failed a second attempt %d times, want once per order:\n%s", got, out.String())
	}
	if got := out.count("storefront  OrderShipped"); got != 3 {
		t.Errorf("%d orders shipped, want 3:\n%s", got, out.String())
	}
}

// Bad flags are refused with a reason.
func TestFlagErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-endpoints", "sales,warehouse"},
		{"-orders", "0"},
		{"-nats", "nats://127.0.0.1:4222", "-listen", "127.0.0.1:4223"},
		{"-fail-billing", "sometimes"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}
}
