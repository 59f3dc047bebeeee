package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// shipments is a saga that ships an order once it was opened and paid, in
// either order, and cancels it if payment is overdue.
type shipments struct {
	overdue time.Duration // 0: no timeout
	mu      sync.Mutex
	timeout map[string]int // timeouts handled per order
}

func (s *shipments) saga() *gobus.Saga[*gobustestv1.ShipmentState] {
	return gobus.NewSaga[*gobustestv1.ShipmentState]("gobustest.v1.ShipmentState", "order_id",
		gobus.SagaEvent(gobustestv1.SagaOrderOpenedRoute, "order_id", gobus.SagaStarts(), s.opened),
		gobus.SagaEvent(gobustestv1.SagaOrderPaidRoute, "order_id", gobus.SagaStarts(), s.paid),
		gobus.SagaCommand(gobustestv1.SagaCloseOrderRoute, "order_id", gobus.SagaFailIfMissing(), s.close),
		gobus.SagaTimeout(s.paymentOverdue),
	)
}

func (s *shipments) opened(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState], e *gobustestv1.SagaOrderOpened) error {
	sc.State().Opened = true
	if s.overdue > 0 {
		if err := sc.RequestTimeout(ctx, s.overdue, &gobustestv1.PaymentOverdue{OrderId: e.OrderId}); err != nil {
			return err
		}
	}
	return s.progress(ctx, sc)
}

func (s *shipments) paid(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState], e *gobustestv1.SagaOrderPaid) error {
	sc.State().Paid = true
	return s.progress(ctx, sc)
}

func (s *shipments) progress(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState]) error {
	st := sc.State()
	st.Handled++
	if !st.Opened || !st.Paid {
		return nil
	}
	sc.Complete()
	return gobustestv1.PublishSagaParcelShipped(ctx, sc, &gobustestv1.SagaParcelShipped{OrderId: st.OrderId})
}

func (s *shipments) close(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState], _ *gobustestv1.SagaCloseOrder) error {
	sc.Complete()
	return nil
}

func (s *shipments) paymentOverdue(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState], t *gobustestv1.PaymentOverdue) error {
	s.mu.Lock()
	s.timeout[t.OrderId]++
	s.mu.Unlock()
	sc.Complete()
	return nil
}

func (s *shipments) timeouts(order string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timeout[order]
}

// shippedWatcher counts the SagaParcelShipped events per order.
type shippedWatcher struct{ seen *counter }

func (w shippedWatcher) HandleSagaParcelShipped(_ context.Context, _ *gobus.MessageContext, e *gobustestv1.SagaParcelShipped) error {
	w.seen.add(e.OrderId)
	return nil
}

func startShipper(t *testing.T, c *gobus.Client, s *shipments, opts ...gobus.EndpointOption) *gobus.Endpoint {
	t.Helper()
	s.timeout = map[string]int{}
	return startEndpoint(t, c, "shipper", func(ep *gobus.Endpoint) error { return gobus.RegisterSaga(ep, s.saga()) }, opts...)
}

func startShippedWatcher(t *testing.T, c *gobus.Client) *counter {
	t.Helper()
	seen := newCounter()
	startEndpoint(t, c, "watcher", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterSagaParcelShippedHandler(ep, shippedWatcher{seen})
	})
	return seen
}

// sagaRecords returns the records in the bucket of saga, by key.
func sagaRecords(t *testing.T, url, saga string) map[string]*gobusv1.SagaRecord {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, topology.Names{Prefix: topology.DefaultPrefix}.SagaBucket(saga))
	if err != nil {
		t.Fatalf("the bucket of %s: %v", saga, err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*gobusv1.SagaRecord{}
	for key := range keys.Keys() {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rec := &gobusv1.SagaRecord{}
		if err := proto.Unmarshal(e.Value(), rec); err != nil {
			t.Fatalf("record %s: %v", key, err)
		}
		out[key] = rec
	}
	return out
}

// The shipment saga ships an order once both events arrived, in either
// order, and leaves no state behind for the completed instances.
func TestSagaEventsInEitherOrder(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	shipped := startShippedWatcher(t, c)
	startShipper(t, c, &shipments{})
	ctx := context.Background()
	for i := range 10 {
		id := fmt.Sprintf("order-%d", i)
		opened := func() error {
			return gobustestv1.PublishSagaOrderOpened(ctx, c, &gobustestv1.SagaOrderOpened{OrderId: id, AmountCents: 100})
		}
		paid := func() error { return gobustestv1.PublishSagaOrderPaid(ctx, c, &gobustestv1.SagaOrderPaid{OrderId: id}) }
		first, second := opened, paid
		if i%2 == 1 {
			first, second = paid, opened
		}
		if err := first(); err != nil {
			t.Fatal(err)
		}
		if err := second(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "10 orders shipped", func() bool { return shipped.distinct() == 10 })
	waitFor(t, "every instance completed", func() bool {
		for _, rec := range sagaRecords(t, url, "gobustest.v1.ShipmentState") {
			if !rec.Completed {
				return false
			}
		}
		return true
	})
	for key, rec := range sagaRecords(t, url, "gobustest.v1.ShipmentState") {
		if len(rec.State) != 0 || len(rec.Pending) != 0 || len(rec.Timeouts) != 0 {
			t.Errorf("completed instance %s kept state %x, pending %d, timeouts %v", key, rec.State, len(rec.Pending), rec.Timeouts)
		}
	}
	if shipped.sum() != 10 {
		t.Errorf("%d SagaParcelShipped for 10 orders, want 10", shipped.sum())
	}
}

// counters is a saga that adds up SagaCount commands.
type counters struct{ handled atomic.Int64 }

func (k *counters) saga() *gobus.Saga[*gobustestv1.CounterState] {
	return gobus.NewSaga[*gobustestv1.CounterState]("gobustest.v1.CounterState", "counter_id",
		gobus.SagaCommand(gobustestv1.SagaCountRoute, "counter_id", gobus.SagaStarts(), k.count),
	)
}

func (k *counters) count(_ context.Context, sc *gobus.SagaContext[*gobustestv1.CounterState], cmd *gobustestv1.SagaCount) error {
	k.handled.Add(1)
	sc.State().Total += cmd.Add
	sc.State().Applied++
	return nil
}

func counterState(t *testing.T, url, id string) *gobustestv1.CounterState {
	t.Helper()
	rec := sagaRecords(t, url, "gobustest.v1.CounterState")[topology.SagaKey(id)]
	if rec == nil {
		return &gobustestv1.CounterState{}
	}
	st := &gobustestv1.CounterState{}
	if err := proto.Unmarshal(rec.State, st); err != nil {
		t.Fatal(err)
	}
	return st
}

// 50 concurrent commands for one instance, handled by two instances of
// the endpoint, lose no update: the counter ends at exactly 50.
func TestSagaConcurrentMessagesLoseNoUpdate(t *testing.T) {
	url := newServerURL(t)
	var k counters
	for range 2 {
		c := connect(t, url)
		startEndpoint(t, c, "counter", func(ep *gobus.Endpoint) error { return gobus.RegisterSaga(ep, k.saga()) }, gobus.WithConcurrency(16))
	}
	sender := connect(t, url)
	b := sender.NewBatch(0)
	for range 50 {
		if err := gobustestv1.SendSagaCount(context.Background(), b, &gobustestv1.SagaCount{CounterId: "hot", Add: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "50 counts applied", func() bool { return counterState(t, url, "hot").Applied >= 50 })
	if st := counterState(t, url, "hot"); st.Total != 50 || st.Applied != 50 {
		t.Fatalf("counter = %d after %d applied, want 50 and 50", st.Total, st.Applied)
	}
	t.Logf("50 counts took %d handler runs (conflicts ran some again)", k.handled.Load())
}

// A message whose instance was written but whose acknowledgement was lost
// is not applied again when it is redelivered: here a middleware fails
// every message's first try after the saga stored it.
func TestSagaRedeliveryIsNotAppliedTwice(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	var k counters
	var failed sync.Map
	failAfter := gobus.Middleware(func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			if err := next(ctx, mc, msg); err != nil {
				return err
			}
			if _, again := failed.LoadOrStore(mc.ID(), true); !again {
				return errors.New("the acknowledgement was lost")
			}
			return nil
		}
	})
	startEndpoint(t, c, "counter", func(ep *gobus.Endpoint) error { return gobus.RegisterSaga(ep, k.saga()) },
		gobus.WithMiddleware(failAfter), gobus.WithConcurrency(4))
	for range 20 {
		if err := gobustestv1.SendSagaCount(context.Background(), c, &gobustestv1.SagaCount{CounterId: "c1", Add: 2}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "20 counts applied and each retried once", func() bool {
		n := 0
		failed.Range(func(any, any) bool { n++; return true })
		return n == 20 && counterState(t, url, "c1").Applied >= 20
	})
	// The retries have run once the endpoint is idle: stop it to wait.
	if st := counterState(t, url, "c1"); st.Total != 40 || st.Applied != 20 {
		t.Fatalf("counter = %d after %d applied, want 40 and 20", st.Total, st.Applied)
	}
	if n := k.handled.Load(); n != 20 {
		t.Errorf("the handler ran %d times for 20 messages, each retried once, want 20", n)
	}
}

// A command that does not start the saga, for an instance that does not
// exist, goes to the error stream when the saga says so.
func TestSagaMessageForUnknownInstanceGoesToTheNotFoundPath(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	startShipper(t, c, &shipments{})
	if err := gobustestv1.SendSagaCloseOrder(context.Background(), c, &gobustestv1.SagaCloseOrder{OrderId: "nobody"}); err != nil {
		t.Fatal(err)
	}
	var failed []*jetstream.RawStreamMsg
	waitFor(t, "the command in the error stream", func() bool {
		failed = errorStreamMessages(t, c)
		return len(failed) == 1
	})
	if got := failed[0].Header.Get("gobus-error-message"); !strings.Contains(got, "no instance") || !strings.Contains(got, `"nobody"`) || !strings.Contains(got, "SagaCloseOrder") {
		t.Errorf("error message %q does not say which instance is missing", got)
	}
	if kind := failed[0].Header.Get("gobus-error-kind"); kind != "unrecoverable" {
		t.Errorf("error kind %q, want unrecoverable (a missing instance is not retried)", kind)
	}
}

// A timeout fires for an instance that is still waiting, even after the
// saga's endpoint restarted; one whose instance completed first is
// cancelled and never handled.
func TestSagaTimeouts(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	s := &shipments{overdue: 400 * time.Millisecond}
	ep := startShipper(t, c, s)
	shipped := startShippedWatcher(t, c)
	ctx := context.Background()
	// "paid" completes before its timeout; "late" never pays.
	if err := gobustestv1.PublishSagaOrderOpened(ctx, c, &gobustestv1.SagaOrderOpened{OrderId: "paid"}); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.PublishSagaOrderPaid(ctx, c, &gobustestv1.SagaOrderPaid{OrderId: "paid"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the paid order shipped", func() bool { return shipped.count("paid") == 1 })
	s2 := &shipments{overdue: 1200 * time.Millisecond}
	if err := ep.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	c2 := connect(t, url)
	startShipper(t, c2, s2)
	if err := gobustestv1.PublishSagaOrderOpened(ctx, c, &gobustestv1.SagaOrderOpened{OrderId: "late"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late order's timeout, after the restart", func() bool { return s2.timeouts("late") == 1 })
	// The paid order's timeout was due earlier than the late one's: had
	// it not been cancelled, it would have arrived first.
	if n := s.timeouts("paid") + s2.timeouts("paid"); n != 0 {
		t.Errorf("the completed order's timeout was handled %d times, want 0", n)
	}
	for key, rec := range sagaRecords(t, url, "gobustest.v1.ShipmentState") {
		if !rec.Completed {
			t.Errorf("instance %s did not complete", key)
		}
	}
}
