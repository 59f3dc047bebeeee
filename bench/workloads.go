package main

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/wire"
	gobus "github.com/gobusdev/gobus/runtime"
)

const (
	rawStream   = "RAW"
	rawSubject  = "raw.work"
	rawConsumer = "raw"
	gobusQueue  = "gobus_queue_worker"
	sentHeader  = "bench-sent"
)

// bench holds what every workload shares.
type bench struct {
	cfg    config
	client *gobus.Client
	js     jetstream.JetStream
	// pad is appended to every Work's id, to make bodies of a given size
	// (the bodies workload); "" for the small message of the other rows.
	pad      string
	startups startups
	// server is the benchmark server; serverPid its process, whose CPU
	// some rows report.
	server    *benchServer
	serverPid int
}

// work is the i-th Work command of a round.
func (b *bench) work(i int) *gobustestv1.Work {
	return &gobustestv1.Work{Id: strconv.Itoa(i) + b.pad}
}

// setup creates the raw stream next to the gobus queue, with the same
// retention, storage and duplicate window.
func (b *bench) setup(ctx context.Context) error {
	_, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: rawStream, Subjects: []string{"raw.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, Replicas: b.cfg.nodes,
	})
	return err
}

func (b *bench) purge(ctx context.Context, stream string) error {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	return s.Purge(ctx)
}

// rawMessage is the same protobuf command a raw producer would send, with
// a de-duplication id, as an idempotent producer does.
func (b *bench) rawMessage(i int) *nats.Msg {
	data, _ := proto.Marshal(b.work(i))
	m := nats.NewMsg(rawSubject)
	m.Header.Set(nats.MsgIdHdr, "raw-"+strconv.Itoa(i)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	m.Data = data
	return m
}

// ceMessage is rawMessage with the CloudEvents headers gobus writes, to
// tell the cost of the wire format from the cost of gobus.
func (b *bench) ceMessage(i int) *nats.Msg {
	data, _ := proto.Marshal(b.work(i))
	id := "ce-" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := wire.Envelope{ID: id, Type: gobustestv1.WorkType, Source: "bench", Time: time.Now(),
		ContentType: wire.ContentTypeProtobuf, Intent: wire.IntentSend, Data: data}
	return env.Message(rawSubject)
}

// rawSend publishes with PublishMsgAsync, a bounded window, and waits for
// every ack.
func (b *bench) rawSend(ctx context.Context) (float64, error) {
	return b.rawSendOf(ctx, b.rawMessage)
}

// rawSendCE is rawSend with gobus's headers.
func (b *bench) rawSendCE(ctx context.Context) (float64, error) {
	return b.rawSendOf(ctx, b.ceMessage)
}

func (b *bench) rawSendOf(ctx context.Context, message func(int) *nats.Msg) (float64, error) {
	return b.rawSendOfTo(ctx, rawStream, message)
}

// rawSendOfTo is rawSendOf into stream, which it purges afterwards.
func (b *bench) rawSendOfTo(ctx context.Context, stream string, message func(int) *nats.Msg) (float64, error) {
	var failed atomic.Int64
	js, err := jetstream.New(b.client.Conn(), jetstream.WithPublishAsyncMaxPending(b.cfg.window),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := range b.cfg.messages {
		if _, err := js.PublishMsgAsync(message(i), stallWait); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		return 0, fmt.Errorf("%d raw publishes failed", failed.Load())
	}
	return float64(b.cfg.messages) / elapsed.Seconds(), b.purge(ctx, stream)
}

// gobusSend sends through a Batch with the same window.
func (b *bench) gobusSend(ctx context.Context) (float64, error) {
	start := time.Now()
	if err := b.fillGobus(ctx, b.cfg.messages); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	return float64(b.cfg.messages) / elapsed.Seconds(), b.purge(ctx, gobusQueue)
}

func (b *bench) fillGobus(ctx context.Context, n int) error {
	batch := b.client.NewBatch(b.cfg.window)
	for i := range n {
		if err := gobustestv1.SendWork(ctx, batch, b.work(i)); err != nil {
			return err
		}
	}
	_, err := batch.Wait(ctx)
	return err
}

// fillRawOf pre-publishes n messages, made by message, to the raw stream.
func (b *bench) fillRawOf(ctx context.Context, n int, message func(int) *nats.Msg) error {
	js, err := jetstream.New(b.client.Conn(), jetstream.WithPublishAsyncMaxPending(b.cfg.window))
	if err != nil {
		return err
	}
	for i := range n {
		if _, err := js.PublishMsgAsync(message(i), stallWait); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rawPump consumes pre-published messages with Consume and acks each.
func (b *bench) rawPump(ctx context.Context) (float64, error) {
	return b.rawPumpOf(ctx, b.rawMessage)
}

// rawPumpCE is rawPump over messages with gobus's headers.
func (b *bench) rawPumpCE(ctx context.Context) (float64, error) {
	return b.rawPumpOf(ctx, b.ceMessage)
}

func (b *bench) rawPumpOf(ctx context.Context, message func(int) *nats.Msg) (float64, error) {
	if err := b.fillRawOf(ctx, b.cfg.messages, message); err != nil {
		return 0, err
	}
	wait, err := b.rawConsume(ctx, func(jetstream.Msg) {})
	if err != nil {
		return 0, err
	}
	r, err := wait(b.cfg.messages)
	b.startups.raw = append(b.startups.raw, r.startup)
	return r.rate(), err
}

// rawConsume starts a Consume that calls each on every message and acks
// it; the returned func waits for n messages and stops.
func (b *bench) rawConsume(ctx context.Context, each func(jetstream.Msg)) (func(n int) (consumed, error), error) {
	t := newTally()
	cons, err := b.js.CreateOrUpdateConsumer(ctx, rawStream, jetstream.ConsumerConfig{
		Durable: rawConsumer, AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1000,
	})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		each(m)
		_ = m.Ack()
		t.handled()
	}, jetstream.PullMaxMessages(b.cfg.prefetch))
	if err != nil {
		return nil, err
	}
	t.stopConsumer = func() {
		cc.Stop()
		// A fresh consumer each round: the server may still hold the
		// stopped Consume's pull request and hand it messages.
		_ = b.js.DeleteConsumer(ctx, rawStream, rawConsumer)
	}
	return func(n int) (consumed, error) { return t.wait(n, "raw consumer") }, nil
}

// gobusPump handles pre-published messages with a handler that does
// nothing.
func (b *bench) gobusPump(ctx context.Context) (float64, error) {
	if err := b.fillGobus(ctx, b.cfg.messages); err != nil {
		return 0, err
	}
	stop := b.startProfile()
	defer stop()
	wait, err := b.gobusEndpoint(ctx, func(*gobus.MessageContext) {})
	if err != nil {
		return 0, err
	}
	r, err := wait(b.cfg.messages)
	b.startups.gobus = append(b.startups.gobus, r.startup)
	return r.rate(), err
}

// workerFunc adapts a function to the generated WorkHandler interface.
type workerFunc func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error

func (f workerFunc) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	return f(ctx, mc, w)
}

// gobusEndpoint starts the worker endpoint, calling each for every
// message; the returned func waits for n messages and stops it.
func (b *bench) gobusEndpoint(ctx context.Context, each func(*gobus.MessageContext)) (func(n int) (consumed, error), error) {
	t := newTally()
	ep, err := gobus.NewEndpoint(b.client, "worker", gobus.WithConcurrency(b.cfg.concurrency), gobus.WithPrefetch(b.cfg.prefetch))
	if err != nil {
		return nil, err
	}
	err = gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		each(mc)
		t.handled()
		return nil
	}))
	if err != nil {
		return nil, err
	}
	if err := ep.Start(ctx); err != nil {
		return nil, err
	}
	t.stopConsumer = func() { _ = ep.Stop(ctx) }
	return func(n int) (consumed, error) { return t.wait(n, "gobus endpoint") }, nil
}

// latencies are the p50 and p99 of one workload.
type latencies struct{ p50, p99 time.Duration }

// recorder collects latencies from handlers.
type recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

func (r *recorder) percentiles() latencies {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Slice(r.d, func(i, j int) bool { return r.d[i] < r.d[j] })
	at := func(p float64) time.Duration { return r.d[int(p*float64(len(r.d)-1))] }
	return latencies{at(0.50), at(0.99)}
}

// latencyRounds is how many rounds the latency workload runs; the median
// of each percentile is reported.
const latencyRounds = 5

// latency sends at a fixed rate and measures publish to handled, raw and
// gobus, each with its consumer already running.
func (b *bench) latency(ctx context.Context) (latencies, latencies, error) {
	var raws, gobuses []latencies
	for range latencyRounds {
		runtime.GC()
		r, err := b.rawLatency(ctx)
		if err != nil {
			return latencies{}, latencies{}, err
		}
		runtime.GC()
		g, err := b.gobusLatency(ctx)
		if err != nil {
			return latencies{}, latencies{}, err
		}
		raws, gobuses = append(raws, r), append(gobuses, g)
	}
	return medianLatency(raws), medianLatency(gobuses), nil
}

func medianLatency(ls []latencies) latencies {
	p50s, p99s := make([]float64, len(ls)), make([]float64, len(ls))
	for i, l := range ls {
		p50s[i], p99s[i] = float64(l.p50), float64(l.p99)
	}
	return latencies{time.Duration(median(p50s)), time.Duration(median(p99s))}
}

func (b *bench) paced(send func(i int) error) (int, error) {
	n := int(float64(b.cfg.rate) * b.cfg.duration.Seconds())
	interval := time.Second / time.Duration(b.cfg.rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if err := send(i); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// rawLatency publishes one message at a time, each acknowledged before
// the next, as the Watermill peer's Publish does: a sender waiting for
// JetStream, as a request handler sending a command would.
func (b *bench) rawLatency(ctx context.Context) (latencies, error) {
	var rec recorder
	wait, err := b.rawConsume(ctx, func(m jetstream.Msg) {
		sent, _ := strconv.ParseInt(m.Headers().Get(sentHeader), 10, 64)
		rec.add(time.Since(time.Unix(0, sent)))
	})
	if err != nil {
		return latencies{}, err
	}
	n, err := b.paced(func(i int) error {
		m := b.rawMessage(i)
		m.Header.Set(sentHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
		_, err := b.js.PublishMsg(ctx, m)
		return err
	})
	if err != nil {
		return latencies{}, err
	}
	if _, err := wait(n); err != nil {
		return latencies{}, err
	}
	return rec.percentiles(), nil
}

// gobusLatency sends with the client, each send stored before the next,
// as rawLatency publishes.
func (b *bench) gobusLatency(ctx context.Context) (latencies, error) {
	var rec recorder
	wait, err := b.gobusEndpoint(ctx, func(mc *gobus.MessageContext) { rec.add(time.Since(mc.Time())) })
	if err != nil {
		return latencies{}, err
	}
	n, err := b.paced(func(i int) error {
		return gobustestv1.SendWork(ctx, b.client, b.work(i))
	})
	if err != nil {
		return latencies{}, err
	}
	if _, err := wait(n); err != nil {
		return latencies{}, err
	}
	return rec.percentiles(), nil
}

// allocs counts the allocations of this process per message handled, by
// the gobus pump, by raw Consume+Ack, and by raw Consume+Ack of messages
// with gobus's CloudEvents headers: what nats.go alone allocates for the
// headers gobus puts on the wire.
func (b *bench) allocs(ctx context.Context) (gobusAllocs, rawAllocs, ceAllocs float64, err error) {
	if gobusAllocs, err = b.gobusAllocs(ctx); err != nil {
		return 0, 0, 0, err
	}
	if rawAllocs, err = b.rawAllocs(ctx, b.rawMessage); err != nil {
		return 0, 0, 0, err
	}
	if ceAllocs, err = b.rawAllocs(ctx, b.ceMessage); err != nil {
		return 0, 0, 0, err
	}
	return gobusAllocs, rawAllocs, ceAllocs, nil
}

// rawAllocs counts the allocations of this process per message raw
// Consume+Ack handles, the messages made by message.
func (b *bench) rawAllocs(ctx context.Context, message func(int) *nats.Msg) (float64, error) {
	n := b.cfg.messages
	if err := b.fillRawOf(ctx, n, message); err != nil {
		return 0, err
	}
	before := mallocs()
	wait, err := b.rawConsume(ctx, func(jetstream.Msg) {})
	if err == nil {
		_, err = wait(n)
	}
	if err != nil {
		return 0, err
	}
	return float64(mallocs()-before) / float64(n), nil
}

// gobusAllocs counts the allocations of this process per message handled
// by the gobus pump.
func (b *bench) gobusAllocs(ctx context.Context) (float64, error) {
	n := b.cfg.messages
	if err := b.fillGobus(ctx, n); err != nil {
		return 0, err
	}
	before := mallocs()
	wait, err := b.gobusEndpoint(ctx, func(*gobus.MessageContext) {})
	if err == nil {
		_, err = wait(n)
	}
	if err != nil {
		return 0, err
	}
	return float64(mallocs()-before) / float64(n), nil
}

func mallocs() uint64 {
	n, _ := allocated()
	return n
}

// allocated is how many objects and bytes this process has allocated.
func allocated() (objects, bytes uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs, m.TotalAlloc
}

// stallWait is how long a raw publish waits for room in the window: the
// default (200 ms) fails publishes to a replicated stream, whose acks
// take longer; gobus's Batch waits as long as its context allows.
var stallWait = jetstream.WithStallWait(time.Minute)
