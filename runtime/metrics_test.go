package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// meterProvider is an OpenTelemetry SDK meter provider read on demand.
func meterProvider(t *testing.T) (*sdkmetric.ManualReader, gobus.Option) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return r, gobus.WithMeterProvider(mp)
}

// point is one data point: a sum's or gauge's value, or a histogram's
// count, with its attributes.
type point struct {
	attrs attribute.Set
	value float64
}

// collect reads every data point, by metric name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string][]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{p.Attributes, float64(p.Value)})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{p.Attributes, float64(p.Value)})
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{p.Attributes, float64(p.Count)})
				}
			default:
				t.Fatalf("metric %s has data of type %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// sumOf adds up the points whose attributes have every value in want; a
// value "" asks for the attribute to be absent.
func sumOf(points []point, want ...attribute.KeyValue) float64 {
	var sum float64
next:
	for _, p := range points {
		for _, w := range want {
			v, ok := p.attrs.Value(w.Key)
			absent := w.Value.AsString() == ""
			if absent == ok || ok && v.String() != w.Value.String() {
				continue next
			}
		}
		sum += p.value
	}
	return sum
}

// describe lists points for a failure message.
func describe(points []point) string {
	var lines []string
	for _, p := range points {
		lines = append(lines, fmt.Sprintf("%v=%v", p.attrs.Encoded(attribute.DefaultEncoder()), p.value))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n\t")
}

// A small flow through one endpoint is counted: tries handled and failed
// (by error kind), immediate and delayed retries, messages moved to the
// error stream, poison ones included, and histograms with one value per
// try or per handled message; nothing is left in flight.
func TestMetricsCountHandling(t *testing.T) {
	t.Parallel()
	reader, withMeter := meterProvider(t)
	c := connect(t, newServerURL(t), withMeter)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			switch w.GetId() {
			case "panics":
				panic("boom")
			case "times-out-once":
				if mc.Attempt() == 1 {
					<-ctx.Done()
					return ctx.Err()
				}
			}
			if mc.Attempt() <= int(w.GetFailTimes()) {
				return errors.New("not yet")
			}
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 1, Delayed: 1, Delay: 10 * time.Millisecond, MaxDelay: time.Second}),
		gobus.WithMaxHandlingTime(100*time.Millisecond))
	ctx := context.Background()
	for _, w := range []*gobustestv1.Work{
		{Id: "ok-1"}, {Id: "ok-2"},
		{Id: "fails-once", FailTimes: 1},         // retried at once, handled
		{Id: "always-fails", FailTimes: 1 << 20}, // retried at once, then after a delay, then moved
		{Id: "panics"},                           // moved at once
		{Id: "times-out-once"},                   // retried at once, handled
	} {
		if err := gobustestv1.SendWork(ctx, c, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*nats.Msg{
		rawMessage(subjectOfWork, "garbage", gobustestv1.WorkType, "application/protobuf", []byte{0xff, 0xff, 0xff}),
		rawMessage(subjectOfWork, "unknown", "gobustest.v1.Nope", "application/protobuf", workBody("x")),
	} {
		if _, err := c.JetStream().PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	typ := attribute.String("gobus.message.type", gobustestv1.WorkType)
	noError := attribute.String("error.type", "")
	kind := func(k string) attribute.KeyValue { return attribute.String("error.type", k) }
	want := []struct {
		metric string
		attrs  []attribute.KeyValue
		value  float64
	}{
		{"messaging.client.consumed.messages", []attribute.KeyValue{typ, noError}, 4},
		{"messaging.client.consumed.messages", []attribute.KeyValue{typ, kind("handler")}, 4},
		{"messaging.client.consumed.messages", []attribute.KeyValue{typ, kind("panic")}, 1},
		{"messaging.client.consumed.messages", []attribute.KeyValue{typ, kind("timeout")}, 1},
		{"messaging.process.duration", []attribute.KeyValue{typ, noError}, 4},
		{"messaging.process.duration", []attribute.KeyValue{typ}, 10},
		{"gobus.critical_time", []attribute.KeyValue{typ}, 4},
		{"gobus.retries", []attribute.KeyValue{typ, attribute.String("gobus.retry.kind", "immediate")}, 3},
		{"gobus.retries", []attribute.KeyValue{typ, attribute.String("gobus.retry.kind", "delayed")}, 1},
		{"gobus.moved_to_error.messages", []attribute.KeyValue{typ, kind("handler")}, 1},
		{"gobus.moved_to_error.messages", []attribute.KeyValue{typ, kind("panic")}, 1},
		{"gobus.moved_to_error.messages", []attribute.KeyValue{typ, kind("decode")}, 1},
		{"gobus.moved_to_error.messages", []attribute.KeyValue{attribute.String("gobus.message.type", ""), kind("unknown-type")}, 1},
		{"gobus.moved_to_error.messages", nil, 4},
		{"gobus.in_flight.messages", nil, 0},
	}
	var got map[string][]point
	matches := func() bool {
		got = collect(t, reader)
		for _, w := range want {
			if sumOf(got[w.metric], w.attrs...) != w.value {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(waitTimeout)
	for !matches() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the reader, with a deadline
	}
	for _, w := range want {
		if v := sumOf(got[w.metric], w.attrs...); v != w.value {
			t.Errorf("%s %v = %v, want %v; points:\n\t%s", w.metric, w.attrs, v, w.value, describe(got[w.metric]))
		}
	}

	// Every handling measurement names the system, the endpoint, the
	// operation and the type's subject.
	common := []attribute.KeyValue{
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.consumer.group.name", "worker"),
		attribute.String("messaging.operation.name", "process"),
		attribute.String("messaging.destination.name", subjectOfWork),
	}
	for _, name := range []string{"messaging.client.consumed.messages", "messaging.process.duration", "gobus.critical_time", "gobus.retries"} {
		if all, withCommon := sumOf(got[name]), sumOf(got[name], common...); all != withCommon {
			t.Errorf("%s: %v of %v measurements have the attributes %v; points:\n\t%s", name, withCommon, all, common, describe(got[name]))
		}
	}
}

// The queue depth gauge follows a backlog: 1,000 messages waiting behind
// handlers that do not return, then none once they do. An endpoint that
// subscribes to events has a point for its events consumer too. Stop takes
// the endpoint's depth out of the gauge.
func TestQueueDepthFollowsBacklog(t *testing.T) {
	t.Parallel()
	reader, withMeter := meterProvider(t)
	c := connect(t, newServerURL(t), withMeter, gobus.WithQueueDepthInterval(20*time.Millisecond))
	release := make(chan struct{})
	ep := startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
		return errors.Join(err, gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error {
			return nil
		})))
	})
	const backlog = 1000
	ctx := context.Background()
	batch := c.NewBatch(0)
	for i := range backlog {
		if err := gobustestv1.SendWork(ctx, batch, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := batch.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	queue := []attribute.KeyValue{
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.consumer.group.name", "worker"),
		attribute.String("messaging.destination.subscription.name", "worker"),
		attribute.String("gobus.stream", "gobus_queue_worker"),
	}
	events := append(queue[:3:3], attribute.String("gobus.stream", "gobus_events"))
	depth := func() (q, e float64, n int) {
		points := collect(t, reader)["gobus.queue.depth"]
		return sumOf(points, queue...), sumOf(points, events...), len(points)
	}
	var highest float64
	waitFor(t, "a queue depth of 1,000", func() bool {
		d, _, _ := depth()
		highest = max(highest, d)
		return d == backlog
	})
	close(release)
	waitFor(t, "a queue depth of 0, and an events consumer's", func() bool {
		d, e, n := depth()
		highest = max(highest, d)
		return d == 0 && e == 0 && n == 2
	})
	if highest > backlog {
		t.Errorf("the queue depth reached %v, more than the %d messages sent", highest, backlog)
	}
	if err := ep.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, n := depth(); n != 0 {
		t.Errorf("%d queue depth points after Stop, want none", n)
	}
}

// WithoutMetrics records nothing, even through a given provider; a
// queue depth interval of 0 reads no depth; a negative one is refused.
func TestMetricsOptions(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	run := func(t *testing.T, opts ...gobus.Option) map[string][]point {
		reader, withMeter := meterProvider(t)
		c := connect(t, url, append([]gobus.Option{withMeter}, opts...)...)
		handled := make(chan string, 1)
		ep := startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
				handled <- w.GetId()
				return nil
			}))
		}, gobus.WithConcurrency(1))
		if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: t.Name()}); err != nil {
			t.Fatal(err)
		}
		receive(t, handled, "the Work")
		if err := ep.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		return collect(t, reader)
	}
	t.Run("off", func(t *testing.T) {
		if got := run(t, gobus.WithoutMetrics()); len(got) != 0 {
			t.Errorf("WithoutMetrics recorded %d metrics", len(got))
		}
	})
	t.Run("no queue depth", func(t *testing.T) {
		got := run(t, gobus.WithQueueDepthInterval(0))
		if n := len(got["gobus.queue.depth"]); n != 0 {
			t.Errorf("%d queue depth points with WithQueueDepthInterval(0)", n)
		}
		if v := sumOf(got["messaging.client.consumed.messages"]); v != 1 {
			t.Errorf("%v messages consumed, want 1", v)
		}
	})
	t.Run("negative interval", func(t *testing.T) {
		_, err := gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithQueueDepthInterval(-time.Second))
		if !errors.Is(err, gobus.ErrInvalidOption) {
			t.Errorf("Connect with a negative queue depth interval: %v, want ErrInvalidOption", err)
		}
	})
}
