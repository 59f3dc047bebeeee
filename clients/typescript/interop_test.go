// Package typescript_test runs the TypeScript client (clients/typescript)
// against Go endpoints on an embedded JetStream server: a TypeScript
// storefront orders from the Go sales endpoint, and a TypeScript billing
// endpoint takes the Go one's place in the orders flow, with a retried
// message and one that goes to the error stream and back with gobus
// errors retry.
//
// It needs node and the built package: npm ci && npm run build in
// clients/typescript (.ci/node does both). Without them it skips, unless
// CI=true; GOBUS_NODE names the node binary (default: node on PATH).
package typescript_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	billingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/billing/v1"
	salesv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/sales/v1"
	shippingv1 "github.com/gobusdev/gobus/examples/orders/contracts/shop/shipping/v1"
	"github.com/gobusdev/gobus/internal/cli"
	"github.com/gobusdev/gobus/internal/natstest"
	gobus "github.com/gobusdev/gobus/runtime"
)

// waitLimit bounds every wait for the other process: a failure, not a
// synchronisation.
const waitLimit = 60 * time.Second

// nodeOrSkip returns the node binary, or skips (fails in CI) when node or
// the built package is missing.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	missing := func(what string) string {
		msg := "clients/typescript: " + what + ": run npm ci && npm run build in clients/typescript, or set GOBUS_NODE to a node binary"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: .ci/node must have built it)")
		}
		t.Skip(msg)
		return ""
	}
	node := os.Getenv("GOBUS_NODE")
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			return missing("no node on PATH")
		}
	}
	for _, f := range []string{"node_modules/@nats-io/jetstream", "node_modules/@nats-io/obj", "dist/examples/orders/storefront.js", "dist/examples/orders/billing.js", "dist/examples/interop/archive.js"} {
		if _, err := os.Stat(f); err != nil {
			return missing(f + " is missing")
		}
	}
	return node
}

// nodeProcess is a running TypeScript program and the JSON lines it
// writes.
type nodeProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan map[string]any
	stderr *natstest.LockedBuffer
	seen   []map[string]any
}

// startNode runs script, a program of dist/examples/orders unless it
// names its directory under dist/examples.
func startNode(t *testing.T, node, url, script string, env []string, args ...string) *nodeProcess {
	t.Helper()
	if !strings.Contains(script, "/") {
		script = "orders/" + script
	}
	cmd := exec.Command(node, append([]string{filepath.Join("dist", "examples", filepath.FromSlash(script))}, args...)...)
	cmd.Env = append(append(os.Environ(), "GOBUS_URL="+url), env...)
	p := &nodeProcess{cmd: cmd, lines: make(chan map[string]any, 100), stderr: &natstest.LockedBuffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", script, err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				line = map[string]any{"text": sc.Text()}
			}
			p.lines <- line
		}
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && !t.Failed() {
				t.Errorf("%s exited with %v; stderr:\n%s", script, err, p.stderr.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not exit after its stdin closed; stderr:\n%s", script, p.stderr.String())
		}
	})
	return p
}

// await reads the program's lines until one has key with a value that
// contains value, and returns it.
func (p *nodeProcess) await(t *testing.T, key, value string) map[string]any {
	t.Helper()
	return p.awaitWhere(t, key+" containing "+value, func(line map[string]any) bool {
		v, has := line[key].(string)
		return has && strings.Contains(v, value)
	})
}

// awaitWhere reads the program's lines until one satisfies match.
func (p *nodeProcess) awaitWhere(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for _, line := range p.seen {
		if match(line) {
			return line
		}
	}
	timeout := time.After(waitLimit)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("the program ended before writing a line with %s; its lines: %v; stderr:\n%s", what, p.seen, p.stderr.String())
			}
			p.seen = append(p.seen, line)
			if match(line) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line with %s within %s; lines: %v; stderr:\n%s", what, waitLimit, p.seen, p.stderr.String())
		}
	}
}

// stop closes the program's stdin and waits until it says it stopped.
func (p *nodeProcess) stop(t *testing.T, name string) {
	t.Helper()
	if err := p.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	p.await(t, "stopped", name)
}

// linesWith are the lines seen so far that have key with value.
func (p *nodeProcess) linesWith(key, value string) []map[string]any {
	var out []map[string]any
	for _, l := range p.seen {
		if l[key] == value {
			out = append(out, l)
		}
	}
	return out
}

func connect(t *testing.T, url string) *gobus.Client {
	t.Helper()
	c, err := gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithSource("interop-test"),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

func start(t *testing.T, c *gobus.Client, name string, register func(*gobus.Endpoint) error) {
	t.Helper()
	ep, err := gobus.NewEndpoint(c, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(ep); err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ep.Stop(ctx)
	})
}

// derivedID is the id docs/wire.md gives the n-th message equal to msg
// that endpoint's handler of the message with id incoming sends.
func derivedID(t *testing.T, endpoint, incoming, subject string, msg proto.Message, n int) string {
	t.Helper()
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write([]byte(string(msg.ProtoReflect().Descriptor().FullName()) + "\x00" + subject + "\x00"))
	h.Write(body)
	name := fmt.Sprintf("%s/%s/%s/%d", endpoint, incoming, hex.EncodeToString(h.Sum(nil)), n)
	return uuid.NewSHA1(uuid.MustParse("6b3f3c5e-0f4e-4b8e-9a43-2f7c1c0b9a10"), []byte(name)).String()
}

// capture subscribes to subject with core NATS and keeps what it sees:
// the messages exactly as the TypeScript client wrote them.
type capture struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func captureSubject(t *testing.T, url, subject string) *capture {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c := &capture{}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.msgs = append(c.msgs, m)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return c
}

// with is the first captured message whose header has value.
func (c *capture) with(header, value string) *nats.Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if m.Header.Get(header) == value {
			return m
		}
	}
	return nil
}

// checkHeaders checks that m carries exactly the headers gobus writes,
// with these values (an empty want is only checked to be present).
func checkHeaders(t *testing.T, m *nats.Msg, want map[string]string) {
	t.Helper()
	var names []string
	for k := range m.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	var wantNames []string
	for k := range want {
		wantNames = append(wantNames, k)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("%s: header names %v, want exactly %v", m.Subject, names, wantNames)
	}
	for k, v := range want {
		if got := m.Header.Get(k); v != "" && got != v {
			t.Errorf("%s: header %s = %q, want %q", m.Subject, k, got, v)
		}
	}
	if ts := m.Header.Get("ce-time"); ts != "" {
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("%s: ce-time %q is not RFC 3339: %v", m.Subject, ts, err)
		}
	}
}

type salesHandler struct {
	salesv1.UnimplementedSalesHandler
}

func (salesHandler) HandlePlaceOrder(ctx context.Context, mc *gobus.MessageContext, cmd *salesv1.PlaceOrder) error {
	var total int64
	for _, it := range cmd.GetItems() {
		total += int64(it.GetQuantity()) * it.GetUnitPriceCents()
	}
	if err := salesv1.ReplyOrderAccepted(ctx, mc, &salesv1.OrderAccepted{OrderId: cmd.GetOrderId(), TotalCents: total}); err != nil {
		return err
	}
	return salesv1.PublishOrderPlaced(ctx, mc, &salesv1.OrderPlaced{OrderId: cmd.GetOrderId(), TotalCents: total})
}

type goBilling struct{}

func (goBilling) HandleOrderPlaced(ctx context.Context, mc *gobus.MessageContext, e *salesv1.OrderPlaced) error {
	return billingv1.PublishOrderBilled(ctx, mc, &billingv1.OrderBilled{OrderId: e.GetOrderId(), AmountCents: e.GetTotalCents()})
}

// TestTypeScriptStorefrontOrdersFromGoSales: the TypeScript storefront
// requests PlaceOrder from the Go sales endpoint, gets its OrderAccepted
// reply, and receives the OrderPlaced and the OrderBilled of the Go
// endpoints, with the ids and headers of docs/wire.md.
func TestTypeScriptStorefrontOrdersFromGoSales(t *testing.T) {
	node := nodeOrSkip(t)
	url := natstest.RunServer(t).ClientURL()
	c := connect(t, url)
	start(t, c, "billing", func(ep *gobus.Endpoint) error { return salesv1.RegisterOrderPlacedHandler(ep, goBilling{}) })
	start(t, c, "sales", func(ep *gobus.Endpoint) error { return salesv1.RegisterSalesHandler(ep, salesHandler{}) })
	sent := captureSubject(t, url, "gobus.cmd.sales.>")

	const orderID = "ts-1001"
	sf := startNode(t, node, url, "storefront.js", nil, orderID)
	if l := sf.await(t, "accepted", "shop.sales.v1.OrderAccepted"); l["orderId"] != orderID || l["totalCents"] != "2500" {
		t.Errorf("the storefront got the reply %v, want order %s, total 2500", l, orderID)
	}
	sf.await(t, "done", orderID)

	// What the TypeScript storefront sent, as Go reads the wire.
	m := sent.with("ce-id", orderID)
	if m == nil {
		t.Fatal("no PlaceOrder with ce-id " + orderID + " on gobus.cmd.sales.>")
	}
	if m.Subject != "gobus.cmd.sales.shop.sales.v1.PlaceOrder" {
		t.Errorf("PlaceOrder went to %s", m.Subject)
	}
	checkHeaders(t, m, map[string]string{
		"ce-specversion": "1.0", "ce-id": orderID, "Nats-Msg-Id": orderID, "ce-type": "shop.sales.v1.PlaceOrder",
		"ce-source": "storefront-ts", "ce-time": "", "ce-datacontenttype": "application/protobuf", "ce-gobusintent": "send",
		"ce-gobusreplyto": "",
	})
	if to := m.Header.Get("ce-gobusreplyto"); !strings.HasPrefix(to, "_INBOX.") {
		t.Errorf("PlaceOrder asks for its reply on %q, want a subject of the client's own under _INBOX.", to)
	}
	order := &salesv1.PlaceOrder{OrderId: orderID, Items: []*salesv1.LineItem{{Sku: "mug", Quantity: 2, UnitPriceCents: 1250}}}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(order)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Data, want) {
		t.Errorf("PlaceOrder body %x, want Go's encoding %x", m.Data, want)
	}

	placed := &salesv1.OrderPlaced{OrderId: orderID, TotalCents: 2500}
	placedID := derivedID(t, "sales", orderID, "gobus.evt.shop.sales.v1.OrderPlaced", placed, 0)
	billedID := derivedID(t, "billing", placedID, "gobus.evt.shop.billing.v1.OrderBilled", &billingv1.OrderBilled{OrderId: orderID, AmountCents: 2500}, 0)
	// The durable reply, from the storefront's own queue.
	durable := sf.awaitWhere(t, "the durable reply", func(l map[string]any) bool {
		return l["received"] == "shop.sales.v1.OrderAccepted" && l["orderId"] == orderID+"-durable"
	})
	if durable["subject"] != "gobus.reply.storefront-ts" || durable["causationId"] != orderID+"-durable" || durable["source"] != "sales" {
		t.Errorf("the durable reply is %v, want it on gobus.reply.storefront-ts from sales, caused by %s-durable", durable, orderID)
	}
	for _, tc := range []struct {
		typ, id, source, causation, amountKey string
	}{
		{"shop.sales.v1.OrderPlaced", placedID, "sales", orderID, "totalCents"},
		{"shop.billing.v1.OrderBilled", billedID, "billing", placedID, "amountCents"},
	} {
		var got []map[string]any
		for _, l := range sf.linesWith("received", tc.typ) {
			if l["orderId"] == orderID {
				got = append(got, l)
			}
		}
		if len(got) != 1 {
			t.Errorf("the storefront received %d %s, want 1: %v", len(got), tc.typ, sf.seen)
			continue
		}
		l := got[0]
		if l["id"] != tc.id || l["source"] != tc.source || l["correlationId"] != orderID || l["causationId"] != tc.causation || l[tc.amountKey] != "2500" {
			t.Errorf("the storefront received %v, want id %s, source %s, correlation %s, causation %s, %s 2500", l, tc.id, tc.source, orderID, tc.causation, tc.amountKey)
		}
	}
}

// shipping ships an order once it saw it placed and billed.
type shipping struct {
	mu   sync.Mutex
	seen map[string]int
}

func (s *shipping) HandleOrderPlaced(ctx context.Context, mc *gobus.MessageContext, e *salesv1.OrderPlaced) error {
	return s.progress(ctx, mc, e.GetOrderId())
}

func (s *shipping) HandleOrderBilled(ctx context.Context, mc *gobus.MessageContext, e *billingv1.OrderBilled) error {
	return s.progress(ctx, mc, e.GetOrderId())
}

func (s *shipping) progress(ctx context.Context, mc *gobus.MessageContext, orderID string) error {
	s.mu.Lock()
	s.seen[orderID]++
	ready := s.seen[orderID] == 2
	s.mu.Unlock()
	if !ready {
		return nil
	}
	return shippingv1.PublishOrderShipped(ctx, mc, &shippingv1.OrderShipped{OrderId: orderID})
}

type storefront chan string

func (s storefront) HandleOrderShipped(ctx context.Context, mc *gobus.MessageContext, e *shippingv1.OrderShipped) error {
	s <- e.GetOrderId()
	return nil
}

func awaitShipped(t *testing.T, shipped <-chan string, billing *nodeProcess, ids ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	timeout := time.After(waitLimit)
	for len(want) > 0 {
		select {
		case id := <-shipped:
			delete(want, id)
		case <-timeout:
			t.Fatalf("not shipped within %s: %v; billing's stderr:\n%s", waitLimit, want, billing.stderr.String())
		}
	}
}

// TestTypeScriptBillingReplacesGoBilling: the TypeScript billing endpoint
// bills what the Go sales endpoint placed, and the Go shipping endpoint
// ships what it billed. One order fails its first delivery and is
// delivered again after a delay; one is refused as unrecoverable, goes to
// the error stream with gobus's failure headers, and gobus errors retry
// brings it back to the TypeScript endpoint.
func TestTypeScriptBillingReplacesGoBilling(t *testing.T) {
	node := nodeOrSkip(t)
	url := natstest.RunServer(t).ClientURL()
	reject := filepath.Join(t.TempDir(), "reject-poison")
	if err := os.WriteFile(reject, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	billing := startNode(t, node, url, "billing.js", []string{"BILLING_REJECT_FILE=" + reject})
	billing.await(t, "ready", "billing")
	billed := captureSubject(t, url, "gobus.evt.shop.billing.v1.OrderBilled")

	c := connect(t, url)
	shipped := make(chan string, 10)
	ship := &shipping{seen: map[string]int{}}
	start(t, c, "shipping", func(ep *gobus.Endpoint) error {
		if err := salesv1.RegisterOrderPlacedHandler(ep, ship); err != nil {
			return err
		}
		return billingv1.RegisterOrderBilledHandler(ep, ship)
	})
	start(t, c, "storefront", func(ep *gobus.Endpoint) error { return shippingv1.RegisterOrderShippedHandler(ep, storefront(shipped)) })
	start(t, c, "sales", func(ep *gobus.Endpoint) error { return salesv1.RegisterSalesHandler(ep, salesHandler{}) })

	ctx := context.Background()
	orders := []string{"ts-2001", "ts-2002-flaky", "ts-2003-poison"}
	for _, id := range orders {
		order := &salesv1.PlaceOrder{OrderId: id, Items: []*salesv1.LineItem{{Sku: "mug", Quantity: 1, UnitPriceCents: 999}}}
		if err := salesv1.SendPlaceOrder(ctx, c, order, gobus.WithMessageID(id)); err != nil {
			t.Fatal(err)
		}
	}
	awaitShipped(t, shipped, billing, orders[0], orders[1])

	// The flaky order: its first delivery ran 1 + 3 immediate tries, the
	// delayed second delivery succeeded, as the default policy says.
	billing.awaitWhere(t, "the flaky order billed", func(l map[string]any) bool {
		return l["received"] == "shop.sales.v1.OrderPlaced" && l["orderId"] == orders[1]
	})
	var attempts []float64
	for _, l := range billing.seen {
		if l["failed"] == orders[1] {
			attempts = append(attempts, l["attempt"].(float64))
			if l["delivery"] != 1.0 {
				t.Errorf("the flaky order failed on %v, want delivery 1 only", l)
			}
		}
		if l["received"] == "shop.sales.v1.OrderPlaced" && l["orderId"] == orders[1] && (l["attempt"] != 5.0 || l["delivery"] != 2.0) {
			t.Errorf("the flaky order was billed on %v, want attempt 5, delivery 2", l)
		}
	}
	if !slices.Equal(attempts, []float64{1, 2, 3, 4}) {
		t.Errorf("the flaky order failed on attempts %v, want 1 2 3 4", attempts)
	}

	// What TypeScript billing published, byte for byte where it matters.
	placedID := derivedID(t, "sales", orders[0], "gobus.evt.shop.sales.v1.OrderPlaced", &salesv1.OrderPlaced{OrderId: orders[0], TotalCents: 999}, 0)
	billedID := derivedID(t, "billing", placedID, "gobus.evt.shop.billing.v1.OrderBilled", &billingv1.OrderBilled{OrderId: orders[0], AmountCents: 999}, 0)
	m := billed.with("ce-id", billedID)
	if m == nil {
		var ids []string
		for _, m := range billed.msgs {
			ids = append(ids, m.Header.Get("ce-id"))
		}
		t.Fatalf("no OrderBilled with the derived id %s; ids seen: %v", billedID, ids)
	}
	checkHeaders(t, m, map[string]string{
		"ce-specversion": "1.0", "ce-id": billedID, "Nats-Msg-Id": billedID, "ce-type": "shop.billing.v1.OrderBilled",
		"ce-source": "billing", "ce-time": "", "ce-datacontenttype": "application/protobuf",
		"ce-correlationid": orders[0], "ce-causationid": placedID, "ce-gobusintent": "publish",
	})

	// The poison order is in the error stream, as gobus writes failures.
	js, err := jetstream.New(c.Conn())
	if err != nil {
		t.Fatal(err)
	}
	billing.await(t, "refused", orders[2])
	errs, err := js.Stream(ctx, "gobus_errors")
	if err != nil {
		t.Fatal(err)
	}
	billing.await(t, "warn", "moved a message to the error stream (unrecoverable)")
	failed, err := errs.GetLastMsgForSubject(ctx, "gobus.err.billing")
	if err != nil {
		t.Fatalf("the error stream has nothing on gobus.err.billing: %v", err)
	}
	placedPoison := derivedID(t, "sales", orders[2], "gobus.evt.shop.sales.v1.OrderPlaced", &salesv1.OrderPlaced{OrderId: orders[2], TotalCents: 999}, 0)
	h := failed.Header
	wantHeaders := map[string]string{
		"gobus-failed-endpoint": "billing", "gobus-failed-subject": "gobus.evt.shop.sales.v1.OrderPlaced",
		"gobus-failed-stream": "gobus_events", "gobus-attempts": "1", "gobus-error-kind": "unrecoverable",
		"gobus-error-type": "Error", "gobus-error-message": "unrecoverable: card number invalid",
		"ce-id": placedPoison, "ce-type": "shop.sales.v1.OrderPlaced", "ce-source": "sales",
		"Nats-Msg-Id": "failed:billing:gobus_events:" + h.Get("gobus-failed-sequence"),
	}
	for k, want := range wantHeaders {
		if got := h.Get(k); got != want {
			t.Errorf("the error stream's copy has %s = %q, want %q", k, got, want)
		}
	}
	if _, err := time.Parse(time.RFC3339, h.Get("gobus-failed-at")); err != nil {
		t.Errorf("gobus-failed-at: %v", err)
	}
	if h.Get("gobus-failed-sequence") == "" {
		t.Error("no gobus-failed-sequence")
	}

	// The operator fixes the cause and brings it back with the Go CLI.
	if err := os.Remove(reject); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"--server", url, "errors", "retry", "--endpoint", "billing"}, &out, &errOut); code != 0 {
		t.Fatalf("gobus errors retry --endpoint billing: exit %d: %s%s", code, out.String(), errOut.String())
	}
	awaitShipped(t, shipped, billing, orders[2])
	l := billing.awaitWhere(t, "the poison order billed", func(l map[string]any) bool {
		return l["received"] == "shop.sales.v1.OrderPlaced" && l["orderId"] == orders[2]
	})
	if l["subject"] != "gobus.retry.billing" || l["id"] != placedPoison {
		t.Errorf("the retried order came as %v, want ce-id %s on the retry subject gobus.retry.billing", l, placedPoison)
	}
	if n, err := errs.Info(ctx); err != nil || n.State.Msgs != 0 {
		t.Errorf("the error stream holds %v messages after the retry (%v), want 0", n.State.Msgs, err)
	}

	// A restarted TypeScript billing finds its streams and consumers and
	// goes on where it stopped: an order placed while it is down is billed.
	billing.stop(t, "billing")
	late := &salesv1.PlaceOrder{OrderId: "ts-2004", Items: []*salesv1.LineItem{{Sku: "mug", Quantity: 1, UnitPriceCents: 999}}}
	if err := salesv1.SendPlaceOrder(ctx, c, late, gobus.WithMessageID(late.GetOrderId())); err != nil {
		t.Fatal(err)
	}
	again := startNode(t, node, url, "billing.js", nil)
	again.await(t, "ready", "billing")
	awaitShipped(t, shipped, again, late.GetOrderId())

	// What TypeScript created is what gobus wants: a strict Go installer
	// finds nothing to differ on billing's queue stream and consumers.
	again.stop(t, "billing")
	strict, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithStrictInstaller(),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("a strict Go client on the streams TypeScript made: %v", err)
	}
	defer func() { _ = strict.Close(ctx) }()
	goBill, err := gobus.NewEndpoint(strict, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if err := salesv1.RegisterOrderPlacedHandler(goBill, goBilling{}); err != nil {
		t.Fatal(err)
	}
	if err := goBill.Start(ctx); err != nil {
		t.Fatalf("a strict Go billing endpoint on the queue and consumers TypeScript billing made: %v", err)
	}
	if err := goBill.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
