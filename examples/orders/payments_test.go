package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

// Billing as a process of its own, killed with SIGKILL mid-run and started
// again on the same database: every order is charged exactly once (one
// payments row each) and ships.
func TestBillingKilledMidRunChargesEachOrderOnce(t *testing.T) {
	t.Parallel()
	const orders = 60
	bin := buildOrders(t)
	url := natstest.RunServer(t).ClientURL()
	dbPath := filepath.Join(t.TempDir(), "billing.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	first := startBilling(t, bin, url, dbPath)
	waitForOutput(t, first.out, "press Ctrl-C to stop", 1)
	var backOffice syncBuffer
	backOfficeDone := make(chan error, 1)
	go func() {
		backOfficeDone <- run(ctx, mustConfig(t, "-nats", url, "-endpoints", "shipping,sales", "-courier", "10ms"), &backOffice)
	}()
	waitForOutput(t, &backOffice, "press Ctrl-C to stop", 1)

	var out syncBuffer
	storeDone := make(chan error, 1)
	go func() {
		storeDone <- run(ctx, mustConfig(t, "-nats", url, "-endpoints", "storefront", "-orders", "60", "-timeout", "50s"), &out)
	}()
	waitForOutput(t, first.out, "publishes OrderBilled", orders/6)
	_ = first.cmd.Process.Kill()
	<-first.exited
	second := startBilling(t, bin, url, dbPath)

	if err := <-storeDone; err != nil {
		t.Fatalf("storefront: %v\n%s\nfirst billing:\n%s\nsecond billing:\n%s", err, out.String(), first.out, second.out)
	}
	_ = second.cmd.Process.Signal(os.Interrupt)
	<-second.exited

	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, charged int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT order_id) FROM payments`).Scan(&rows, &charged); err != nil {
		t.Fatal(err)
	}
	if rows != orders || charged != orders {
		t.Errorf("%d payments rows for %d orders charged, want %d of each", rows, charged, orders)
	}
	runs := first.out.count("publishes OrderBilled") + second.out.count("publishes OrderBilled")
	t.Logf("%d orders: billing killed after %d charges; %d charges run in all, %d payments rows", orders, first.out.count("publishes OrderBilled"), runs, rows)
	cancel()
	if err := <-backOfficeDone; err != nil {
		t.Errorf("back office: %v", err)
	}
}

type billingProcess struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

func startBilling(t *testing.T, bin, url, db string) *billingProcess {
	t.Helper()
	p := &billingProcess{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "-nats", url, "-endpoints", "billing", "-billing-db", db)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// buildOrders builds this program, with -race if the test runs with it.
func buildOrders(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "orders")
	args := []string{"build", "-o", bin}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	args = append(args, "github.com/gobusdev/gobus/examples/orders")
	start := time.Now()
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built the demo in %s", time.Since(start).Round(time.Millisecond))
	return bin
}
