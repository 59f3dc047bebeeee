package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// seen records handled ids in the order they were handled.
type seen struct {
	mu  sync.Mutex
	ids []string
}

func (s *seen) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
}

func (s *seen) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

func (s *seen) len() int { return len(s.list()) }

// connectEdge connects an edge's client to hub, storing under dir; the
// test closes it unless it does so itself.
func connectEdge(t *testing.T, hub *natstest.Hub, dir string, endpoints ...string) *gobus.Client {
	t.Helper()
	c, err := gobus.Connect(context.Background(), gobus.WithLogger(testLogger()), gobus.WithEdge(gobus.Edge{
		StoreDir: dir, Hub: hub.LeafURL(), Domain: "shop-1", HubDomain: "hub", Endpoints: endpoints,
	}))
	if err != nil {
		t.Fatalf("Connect WithEdge: %v", err)
	}
	t.Cleanup(func() { closeClient(t, c) })
	return c
}

func closeClient(t *testing.T, c *gobus.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil && !errors.Is(err, gobus.ErrClosed) {
		t.Errorf("Close: %v", err)
	}
}

// TestEdgeStoreAndForward cuts the link between an edge and its hub by
// stopping the hub: what the edge sends meanwhile is stored on the edge
// and reaches the hub's endpoint once the hub is back, every message once
// and in order; commands the hub sends to the edge's endpoint while the
// edge is down reach it when the edge comes back.
func TestEdgeStoreAndForward(t *testing.T) {
	ctx := context.Background()
	hub := natstest.RunHub(t, "hub")
	central := connect(t, hub.ClientURL())
	var work, done, ticks, ticked seen
	startEndpoint(t, central, "worker", func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			work.add(w.GetId())
			return nil
		})); err != nil {
			return err
		}
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			done.add(e.GetId())
			return nil
		}))
	}, gobus.WithConcurrency(1))

	edgeDir := t.TempDir()
	edge := connectEdge(t, hub, edgeDir, "ticker")
	ticker := func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterTickerHandler(ep, tickerFunc(func(ctx context.Context, mc *gobus.MessageContext, tk *gobustestv1.Tick) error {
			ticks.add(tk.GetId())
			return nil
		})); err != nil {
			return err
		}
		return gobustestv1.RegisterTickedHandler(ep, tickedFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.Ticked) error {
			ticked.add(e.GetId())
			return nil
		}))
	}
	startEndpoint(t, edge, "ticker", ticker, gobus.WithConcurrency(1))

	// The link is up: a command each way.
	if err := gobustestv1.SendWork(ctx, edge, &gobustestv1.Work{Id: "up"}); err != nil {
		t.Fatalf("SendWork with the link up: %v", err)
	}
	if err := gobustestv1.SendTick(ctx, central, &gobustestv1.Tick{Id: "up"}); err != nil {
		t.Fatalf("SendTick on the hub: %v", err)
	}
	waitFor(t, "the hub's worker to handle the edge's command", func() bool { return work.len() == 1 })
	waitFor(t, "the edge's ticker to handle the hub's command", func() bool { return ticks.len() == 1 })
	if err := gobustestv1.PublishTicked(ctx, central, &gobustestv1.Ticked{Id: "hub"}); err != nil {
		t.Fatalf("PublishTicked on the hub: %v", err)
	}
	waitFor(t, "the edge's subscriber to get the hub's event", func() bool { return ticked.len() == 1 })

	// The link is cut: the edge goes on sending, and the edge's endpoint
	// handles what the edge sends it.
	hub.Stop()
	const outage = 200
	var want []string
	for i := range outage {
		id := fmt.Sprintf("w%03d", i)
		want = append(want, id)
		sendCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := gobustestv1.SendWork(sendCtx, edge, &gobustestv1.Work{Id: id})
		if err == nil && i%20 == 0 {
			err = gobustestv1.PublishWorkDone(sendCtx, edge, &gobustestv1.WorkDone{Id: id})
		}
		cancel()
		if err != nil {
			t.Fatalf("sending %s with the hub down: %v", id, err)
		}
	}
	if err := gobustestv1.SendTick(ctx, edge, &gobustestv1.Tick{Id: "local"}); err != nil {
		t.Fatalf("SendTick on the edge to its own endpoint: %v", err)
	}
	waitFor(t, "the edge's ticker to handle its own command with the hub down", func() bool { return ticks.len() == 2 })
	waitFor(t, "EdgeStatus to say what waits and why", func() bool {
		st, err := edge.EdgeStatus(ctx)
		return err == nil && st.Waiting == outage+outage/20 && st.Err != nil
	})

	// The link is back: everything arrives, once, in order.
	hub.Start()
	waitFor(t, "the hub's worker to handle what the edge sent during the outage", func() bool { return work.len() >= outage+1 })
	waitFor(t, "the hub's subscriber to get the events", func() bool { return done.len() >= outage/20 })
	if got := work.list(); !slices.Equal(got, append([]string{"up"}, want...)) {
		t.Fatalf("the worker handled %d commands, want %d in the order sent; first differences: %v", len(got), outage+1, firstDifference(got, append([]string{"up"}, want...)))
	}
	waitFor(t, "the forward stream to be emptied", func() bool {
		st, err := edge.EdgeStatus(ctx)
		return err == nil && st.Waiting == 0 && st.Err == nil && st.Forwarded >= outage+outage/20
	})

	// The edge is down: commands for its endpoint wait on the hub, and
	// reach the edge when it is back.
	closeClient(t, edge)
	for i := range 10 {
		if err := gobustestv1.SendTick(ctx, central, &gobustestv1.Tick{Id: fmt.Sprintf("t%d", i)}); err != nil {
			t.Fatalf("SendTick with the edge down: %v", err)
		}
	}
	edge = connectEdge(t, hub, edgeDir, "ticker")
	startEndpoint(t, edge, "ticker", ticker, gobus.WithConcurrency(1))
	waitFor(t, "the edge's ticker to handle what the hub sent while it was down", func() bool { return ticks.len() >= 12 })
	if got := ticks.list(); !slices.Equal(got, []string{"up", "local", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}) {
		t.Fatalf("the ticker handled %v", got)
	}
	// Nothing more arrives late: a duplicate would have by now.
	if err := gobustestv1.SendWork(ctx, edge, &gobustestv1.Work{Id: "last"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last command", func() bool { return slices.Contains(work.list(), "last") })
	if n := work.len(); n != outage+2 {
		t.Fatalf("the worker handled %d commands, want %d: a duplicate", n, outage+2)
	}

	// Scheduled on the edge, for the hub's endpoint and for its own: both
	// fire on the hub.
	if err := gobustestv1.SendWork(ctx, edge, &gobustestv1.Work{Id: "scheduled"}, gobus.After(300*time.Millisecond)); err != nil {
		t.Fatalf("SendWork After from the edge: %v", err)
	}
	if err := gobustestv1.SendTick(ctx, edge, &gobustestv1.Tick{Id: "scheduled"}, gobus.After(300*time.Millisecond)); err != nil {
		t.Fatalf("SendTick After from the edge to its own endpoint: %v", err)
	}
	waitFor(t, "the scheduled command for the hub", func() bool { return slices.Contains(work.list(), "scheduled") })
	waitFor(t, "the scheduled command for the edge", func() bool { return slices.Contains(ticks.list(), "scheduled") })
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// tickerFunc adapts a function to the generated TickerHandler interface.
type tickerFunc func(ctx context.Context, mc *gobus.MessageContext, t *gobustestv1.Tick) error

func (f tickerFunc) HandleTick(ctx context.Context, mc *gobus.MessageContext, t *gobustestv1.Tick) error {
	return f(ctx, mc, t)
}

// A wrong edge configuration fails at Connect, or at NewEndpoint for an
// endpoint the edge does not host, and says what to do.
func TestEdgeConfigurationFailsAtStartUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	edge := func(change func(*gobus.Edge)) gobus.Option {
		e := gobus.Edge{StoreDir: t.TempDir(), Hub: "nats-leaf://127.0.0.1:7422", Domain: "shop-1", HubDomain: "hub"}
		change(&e)
		return gobus.WithEdge(e)
	}
	cases := []struct {
		name string
		opts []gobus.Option
		want string
	}{
		{"no store", []gobus.Option{edge(func(e *gobus.Edge) { e.StoreDir = "" })}, "StoreDir"},
		{"no hub", []gobus.Option{edge(func(e *gobus.Edge) { e.Hub = "" })}, "leafnodes listener"},
		{"hub not a URL", []gobus.Option{edge(func(e *gobus.Edge) { e.Hub = "hub.example.com" })}, "is not a leafnodes URL"},
		{"no domain", []gobus.Option{edge(func(e *gobus.Edge) { e.Domain = "" })}, "WithEdge Domain"},
		{"domain with a dot", []gobus.Option{edge(func(e *gobus.Edge) { e.Domain = "shop.1" })}, `"shop.1"`},
		{"same domains", []gobus.Option{edge(func(e *gobus.Edge) { e.HubDomain = "shop-1" })}, "a JetStream domain of its own"},
		{"invalid endpoint", []gobus.Option{edge(func(e *gobus.Edge) { e.Endpoints = []string{"a b"} })}, `"a b"`},
		{"edge and URL", []gobus.Option{edge(func(*gobus.Edge) {}), gobus.WithURL("nats://127.0.0.1:4222")}, "only one of"},
		{"hub domain with a dot", []gobus.Option{gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir(), Domain: "a.b"})}, "not a valid JetStream domain"},
		{"hub leaf listener not host:port", []gobus.Option{gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir(), LeafListen: "7422"})}, "LeafListen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := gobus.Connect(ctx, append(tc.opts, gobus.WithLogger(testLogger()))...)
			if err == nil {
				_ = c.Close(ctx)
				t.Fatal("Connect succeeded, want an error")
			}
			if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Connect error %q: want ErrInvalidOption mentioning %q", err, tc.want)
			}
		})
	}

	// The hub need not be up for the edge to start.
	c, err := gobus.Connect(ctx, gobus.WithLogger(testLogger()), edge(func(e *gobus.Edge) { e.Endpoints = []string{"ticker"} }))
	if err != nil {
		t.Fatalf("Connect with the hub unreachable: %v", err)
	}
	defer closeClient(t, c)
	if _, err := gobus.NewEndpoint(c, "worker"); !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), "hosts only [ticker]") {
		t.Errorf("NewEndpoint for an endpoint the edge does not host: %v, want ErrInvalidOption naming the hosted endpoints", err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "offline"}); err != nil {
		t.Errorf("SendWork with the hub unreachable: %v, want it stored on the edge", err)
	}
	st, err := c.EdgeStatus(ctx)
	if err != nil || st.Waiting != 1 || st.Err == nil {
		t.Errorf("EdgeStatus = %+v, %v: want one waiting and why", st, err)
	}
}

// The embedded server can be the hub: a JetStream domain and a leafnodes
// listener are all it needs.
func TestEdgeWithEmbeddedHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	leaf := l.Addr().String()
	_ = l.Close()
	hub, err := gobus.Connect(ctx, gobus.WithLogger(testLogger()), gobus.WithEmbeddedServer(gobus.EmbeddedServer{
		StoreDir: t.TempDir(), Domain: "hub", LeafListen: leaf,
	}))
	if err != nil {
		t.Fatalf("Connect with an embedded hub: %v", err)
	}
	defer closeClient(t, hub)
	var work seen
	startEndpoint(t, hub, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			work.add(w.GetId())
			return nil
		}))
	})
	edge, err := gobus.Connect(ctx, gobus.WithLogger(testLogger()), gobus.WithEdge(gobus.Edge{
		StoreDir: t.TempDir(), Hub: "nats-leaf://" + leaf, Domain: "shop-2", HubDomain: "hub",
	}))
	if err != nil {
		t.Fatalf("Connect WithEdge: %v", err)
	}
	defer closeClient(t, edge)
	if err := gobustestv1.SendWork(ctx, edge, &gobustestv1.Work{Id: "from the edge"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the embedded hub's endpoint to handle the edge's command", func() bool { return work.len() == 1 })

	// A request from the edge: the command is forwarded, the reply comes
	// back on core NATS across the link.
	startEndpoint(t, hub, "quoter", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterQuoterHandler(ep, quoter{}) })
	reqCtx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	got, err := gobustestv1.RequestQuote(reqCtx, edge, &gobustestv1.Quote{Item: "book"})
	if err != nil || got.Quoted.GetCents() != 400 {
		t.Fatalf("RequestQuote from the edge = %v, %v; want 400 cents", got, err)
	}
}
