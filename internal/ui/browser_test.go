package ui_test

import (
	"bufio"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	"github.com/gobusdev/gobus/internal/schemas"
	"github.com/gobusdev/gobus/internal/ui"
)

// chromium returns the Chromium to drive: GOBUS_TEST_CHROMIUM, else
// chromium on the PATH. Without one the test skips, except in CI
// (CI=true), where .ci/chromium installs it and the test must run.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GOBUS_TEST_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no Chromium: source .ci/chromium, which installs Debian's chromium and sets GOBUS_TEST_CHROMIUM")
	}
	t.Skip("no Chromium: install Debian's chromium package (apt-get install chromium) or set GOBUS_TEST_CHROMIUM to run the browser tests")
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a
// context to drive it with chromedp.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1180, 640),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// demo is the orders demo running as processes against one server.
type demo struct {
	t     *testing.T
	bin   string
	url   string
	dir   string
	procs []*proc
}

// proc is one process of the demo, with its output kept.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan error
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// buildDemo builds examples/orders.
func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "orders")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/gobusdev/gobus/examples/orders")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/orders: %v\n%s", err, out)
	}
	return bin
}

// start runs the demo with args and waits until its output has ready.
func (d *demo) start(name, ready string, args ...string) *proc {
	d.t.Helper()
	p := &proc{name: name, done: make(chan error, 1)}
	p.cmd = exec.Command(d.bin, append([]string{"-nats", d.url}, args...)...)
	p.cmd.Dir = d.dir
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	readyc := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(readyc) })
			}
		}
	}()
	go func() { err := p.cmd.Wait(); pw.Close(); p.done <- err }()
	d.procs = append(d.procs, p)
	select {
	case <-readyc:
	case err := <-p.done:
		d.t.Fatalf("%s exited before it was ready: %v\n%s", name, err, p.output())
	case <-time.After(2 * time.Minute):
		d.t.Fatalf("%s not ready after 2 minutes:\n%s", name, p.output())
	}
	return p
}

// stop ends p with SIGTERM, as Ctrl-C would, and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop on SIGTERM:\n%s", p.name, p.output())
	}
}

func (d *demo) stopAll() {
	for _, p := range d.procs {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				_ = p.cmd.Process.Kill()
			}
		}
	}
}

// screenshot writes the browser's viewport to docs/name.png, for the
// README's "Operations page".
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "..", "docs", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// run runs chromedp actions with a deadline, failing the test with what
// it was doing.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		html, _ := chromedp.Run(hctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// value runs one chromedp action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(3*time.Minute))
}

// The operator's day in a real browser: the orders demo with billing
// broken shows billing's queue and a group of 3 failed orders; once
// billing is fixed, "Retry group" empties the group and the orders ship;
// an order's conversation shows its messages in causal order.
func TestBrowserRetryGroupShipsOrders(t *testing.T) {
	path := chromium(t)
	ns := natstest.RunServer(t)
	d := &demo{t: t, bin: buildDemo(t), url: ns.ClientURL(), dir: t.TempDir()}
	defer d.stopAll()
	d.start("shipping and sales", "press Ctrl-C", "-audit", "-endpoints", "shipping,sales")
	billing := d.start("billing, broken", "press Ctrl-C", "-audit", "-endpoints", "billing", "-fail-billing", "always", "-billing-db", "billing.db")
	storefront := d.start("storefront", "placing 3 orders", "-audit", "-endpoints", "storefront", "-orders", "3", "-timeout", "5m")

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Open(context.Background(), js, "gobus")
	if err != nil {
		t.Fatal(err)
	}
	page, err := ui.New(ui.Config{JS: js, Prefix: "gobus", Loopback: true, Interval: 500 * time.Millisecond, Server: ns.ClientURL(), Schemas: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go page.Run(ctx)
	srv := httptest.NewServer(page)
	defer srv.Close()

	b := browser(t, path)
	run(t, b, "the endpoints page shows billing's queue",
		chromedp.Navigate(srv.URL+"/endpoints"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-endpoint="billing"] td.queue`)),
		waitJS(`document.querySelector('tr[data-endpoint="billing"] td.failed').textContent.trim() === "3"`),
	)
	screenshot(t, b, "ui-endpoints")

	run(t, b, "the failed page shows billing's group of 3",
		chromedp.Navigate(srv.URL+"/failed"),
		waitJS(`[...document.querySelectorAll('tr.group')].some(r => r.children[1].textContent === "billing" && r.querySelector('td.count').textContent === "3")`),
	)
	screenshot(t, b, "ui-failed")

	run(t, b, "a failed message's detail",
		chromedp.Click(chromedp.CSS(`tr.group td a`)),
		chromedp.WaitVisible(chromedp.CSS(`#messages`)),
		chromedp.Click(chromedp.CSS(`#messages tbody tr td a`)),
		chromedp.WaitVisible(chromedp.CSS(`#body`)),
		// The body decoded by the schema the endpoints published, though
		// no Go type of the demo is linked into this test.
		waitJS(`document.querySelector('#body').textContent.includes('"orderId"')`),
	)
	conversation := value(t, b, "the conversation link", chromedp.AttributeValue(chromedp.CSS(`#conversation-link`), "href")).Value
	screenshot(t, b, "ui-message")
	if conversation == "" {
		t.Fatal("the failed message links no conversation")
	}

	billing.stop(t)
	d.start("billing, fixed", "press Ctrl-C", "-audit", "-endpoints", "billing", "-billing-db", "billing.db")
	run(t, b, "retry group empties the group",
		chromedp.Navigate(srv.URL+"/failed"),
		chromedp.Click(chromedp.CSS(`tr.group button.retry-group`)),
		chromedp.WaitVisible(chromedp.CSS(`#no-failed`)),
		waitJS(`document.querySelector('.flash').textContent.includes("retried 3 of 3")`),
	)
	select {
	case err := <-storefront.done:
		if err != nil || !strings.Contains(storefront.output(), "all 3 orders placed, billed and shipped") {
			t.Fatalf("storefront: %v\n%s", err, storefront.output())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the orders did not ship after the retry:\n%s", storefront.output())
	}
	checkConversation(t, b, srv.URL+conversation)
}

// checkConversation opens an order's conversation and checks that its
// messages come in causal order.
func checkConversation(t *testing.T, b context.Context, url string) {
	t.Helper()
	run(t, b, "the conversation view",
		chromedp.Navigate(url),
		waitJS(`document.querySelectorAll('tr.step').length > 0`),
	)
	types := value(t, b, "the conversation's types", chromedp.Evaluate[[]string](`[...document.querySelectorAll('tr.step code.type')].map(c => c.textContent)`))
	screenshot(t, b, "ui-conversation")
	// Each message of the order, in the order it was caused: every
	// message's cause (by type) comes before it.
	cause := map[string]string{
		"shop.sales.v1.OrderPlaced":     "shop.sales.v1.PlaceOrder",
		"shop.billing.v1.OrderBilled":   "shop.sales.v1.OrderPlaced",
		"shop.shipping.v1.OrderShipped": "",
	}
	seen := map[string]int{}
	for i, typ := range types {
		if c := cause[typ]; c != "" {
			if _, ok := seen[c]; !ok {
				t.Errorf("step %d, %s, comes before its cause %s: %v", i+1, typ, c, types)
			}
		}
		if _, ok := seen[typ]; !ok {
			seen[typ] = i
		}
	}
	for _, want := range []string{"shop.sales.v1.PlaceOrder", "shop.sales.v1.OrderPlaced", "shop.billing.v1.OrderBilled", "shop.shipping.v1.OrderShipped"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("the conversation lacks %s: %v", want, types)
		}
	}
	if types[0] != "shop.sales.v1.PlaceOrder" || types[len(types)-1] != "shop.shipping.v1.OrderShipped" {
		t.Errorf("the conversation should start with PlaceOrder and end with OrderShipped: %v", types)
	}
	t.Logf("conversation: %v", types)
}
