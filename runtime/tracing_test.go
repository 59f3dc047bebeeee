package gobus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// recorder is an OpenTelemetry SDK whose ended spans a test reads.
type recorder struct {
	sr *tracetest.SpanRecorder
	tp *sdktrace.TracerProvider
}

func newRecorder(t *testing.T) recorder {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return recorder{sr: sr, tp: tp}
}

// wait waits until the ended spans that keep holds number n, and returns
// them in the order they started.
func (r recorder) wait(t *testing.T, what string, n int, keep func(sdktrace.ReadOnlySpan) bool) []sdktrace.ReadOnlySpan {
	t.Helper()
	var got []sdktrace.ReadOnlySpan
	waitFor(t, fmt.Sprintf("%d spans: %s", n, what), func() bool {
		got = got[:0]
		for _, s := range r.sr.Ended() {
			if keep(s) {
				got = append(got, s)
			}
		}
		return len(got) >= n
	})
	if len(got) != n {
		t.Fatalf("%d spans (%s), want %d:\n%s", len(got), what, n, describeSpans(got))
	}
	sort.Slice(got, func(i, j int) bool { return got[i].StartTime().Before(got[j].StartTime()) })
	return got
}

func anySpan(sdktrace.ReadOnlySpan) bool { return true }

func describeSpans(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %s span %s parent %s %v\n", s.SpanKind(), s.Name(), s.SpanContext().SpanID(), s.Parent().SpanID(), s.Attributes())
	}
	return b.String()
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// checkAttrs compares the span's attributes named in want with want.
func checkAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got := spanAttr(s, k).AsInterface(); got != v {
			t.Errorf("span %q: %s = %v (%T), want %v (%T)", s.Name(), k, got, got, v, v)
		}
	}
}

func hasEvent(s sdktrace.ReadOnlySpan, name string) (sdktrace.Event, bool) {
	for _, e := range s.Events() {
		if e.Name == name {
			return e, true
		}
	}
	return sdktrace.Event{}, false
}

func eventAttr(e sdktrace.Event, key string) attribute.Value {
	for _, kv := range e.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// workAuditedFunc adapts a function to the generated WorkAuditedHandler
// interface.
type workAuditedFunc func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkAudited) error

func (f workAuditedFunc) HandleWorkAudited(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkAudited) error {
	return f(ctx, mc, e)
}

// One piece of work through a flow shaped like the orders demo is one
// trace: the client's send, the worker's process and publish, the event's
// two subscribers (billing sends a command on, shipping notes it), the
// auditor's process and publish, and shipping's process of the last event.
// Every process span is a child of, and linked to, the send or publish
// span of its message, and carries the messaging attributes.
func TestTracingOneTraceThroughAFlow(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp), gobus.WithSource("storefront"))
	ctx := context.Background()
	done := make(chan struct{})
	type ids struct{ id, correlation string }
	worked := make(chan ids, 1)
	startEndpoint(t, c, "shipping", func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error {
			return nil
		})); err != nil {
			return err
		}
		return gobustestv1.RegisterWorkAuditedHandler(ep, workAuditedFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkAudited) error {
			close(done)
			return nil
		}))
	})
	startEndpoint(t, c, "billing", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			return gobustestv1.SendAudit(ctx, mc, &gobustestv1.Audit{Entry: e.GetId()})
		}))
	})
	startEndpoint(t, c, "auditor", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterAuditHandler(ep, auditFunc(func(ctx context.Context, mc *gobus.MessageContext, a *gobustestv1.Audit) error {
			return gobustestv1.PublishWorkAudited(ctx, mc, &gobustestv1.WorkAudited{Entry: a.GetEntry()})
		}))
	})
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			select {
			case worked <- ids{mc.ID(), mc.CorrelationID()}:
			default:
			}
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	})
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w-1"}, gobus.WithMessageID("order-1")); err != nil {
		t.Fatal(err)
	}
	receive(t, done, "the last handler")
	w := receive(t, worked, "the worker's ids")
	workID, correlation := w.id, w.correlation
	spans := rec.wait(t, "the flow", 9, anySpan)

	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		key := s.Name()
		if s.SpanKind() == trace.SpanKindConsumer {
			key += " @" + spanAttr(s, "messaging.consumer.group.name").AsString()
		}
		byName[key] = append(byName[key], s)
	}
	one := func(key string) sdktrace.ReadOnlySpan {
		t.Helper()
		if len(byName[key]) != 1 {
			t.Fatalf("%d spans %q, want 1:\n%s", len(byName[key]), key, describeSpans(spans))
		}
		return byName[key][0]
	}
	const (
		workSubject    = "gobus.cmd.worker.gobustest.v1.Work"
		doneSubject    = "gobus.evt.gobustest.v1.WorkDone"
		auditSubject   = "gobus.cmd.auditor.audit.record"
		auditedSubject = "gobus.evt.gobustest.v1.WorkAudited"
	)
	send := one("send " + workSubject)
	// Each span, with the span it must be a child of and linked to.
	tree := []struct {
		span, parent sdktrace.ReadOnlySpan
	}{
		{one("process " + workSubject + " @worker"), send},
		{one("publish " + doneSubject), one("process " + workSubject + " @worker")},
		{one("process " + doneSubject + " @billing"), one("publish " + doneSubject)},
		{one("process " + doneSubject + " @shipping"), one("publish " + doneSubject)},
		{one("send " + auditSubject), one("process " + doneSubject + " @billing")},
		{one("process " + auditSubject + " @auditor"), one("send " + auditSubject)},
		{one("publish " + auditedSubject), one("process " + auditSubject + " @auditor")},
		{one("process " + auditedSubject + " @shipping"), one("publish " + auditedSubject)},
	}
	if send.Parent().IsValid() {
		t.Errorf("the client's send has a parent, %s; want a new trace", send.Parent().SpanID())
	}
	traceID := send.SpanContext().TraceID()
	for _, n := range tree {
		s := n.span
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("span %q is in trace %s, want %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
		if s.Parent().SpanID() != n.parent.SpanContext().SpanID() {
			t.Errorf("span %q is a child of %s, want %q (%s)", s.Name(), s.Parent().SpanID(), n.parent.Name(), n.parent.SpanContext().SpanID())
		}
		switch s.SpanKind() {
		case trace.SpanKindConsumer:
			links := s.Links()
			if !s.Parent().IsRemote() {
				t.Errorf("span %q: its parent came in the message's headers, but is not marked remote", s.Name())
			}
			if len(links) != 1 || links[0].SpanContext.SpanID() != n.parent.SpanContext().SpanID() {
				t.Errorf("span %q links to %v, want the span of its message, %s", s.Name(), links, n.parent.SpanContext().SpanID())
			}
		case trace.SpanKindProducer:
		default:
			t.Errorf("span %q is of kind %s", s.Name(), s.SpanKind())
		}
		if s.Status().Code.String() != "Unset" {
			t.Errorf("span %q has status %v, want unset", s.Name(), s.Status())
		}
	}
	if send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("span %q is of kind %s, want producer", send.Name(), send.SpanKind())
	}
	checkAttrs(t, send, map[string]any{
		"messaging.system":            "nats",
		"messaging.operation.type":    "send",
		"messaging.operation.name":    "send",
		"messaging.destination.name":  workSubject,
		"messaging.message.id":        "order-1",
		"cloudevents.event_type":      "gobustest.v1.Work",
		"cloudevents.event_source":    "storefront",
		"messaging.message.body.size": int64(5),
	})
	checkAttrs(t, one("process "+workSubject+" @worker"), map[string]any{
		"messaging.system":                  "nats",
		"messaging.operation.type":          "process",
		"messaging.operation.name":          "process",
		"messaging.destination.name":        workSubject,
		"messaging.consumer.group.name":     "worker",
		"messaging.message.id":              workID,
		"messaging.message.conversation_id": correlation,
		"cloudevents.event_type":            "gobustest.v1.Work",
		"cloudevents.event_source":          "storefront",
		"gobus.attempt":                     int64(1),
		"gobus.delivery":                    int64(1),
	})
	publish := one("publish " + doneSubject)
	checkAttrs(t, publish, map[string]any{
		"messaging.operation.type":          "send",
		"messaging.operation.name":          "publish",
		"messaging.destination.name":        doneSubject,
		"messaging.message.conversation_id": correlation,
		"cloudevents.event_type":            "gobustest.v1.WorkDone",
		"cloudevents.event_source":          "worker",
	})
	checkAttrs(t, one("process "+auditedSubject+" @shipping"), map[string]any{
		"messaging.consumer.group.name":     "shipping",
		"messaging.message.conversation_id": correlation,
	})
	if workID != "order-1" || correlation == "" {
		t.Errorf("the work's id %q and correlation %q", workID, correlation)
	}
}

// A handler that fails twice, then succeeds: one process span per try,
// each a child of the send span, the failed ones with error status, the
// exception event, the next step and a retry event. The tracing link runs
// outside the user's middleware, which sees the try's span.
func TestTracingShowsRetries(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	inSpan := make(chan trace.SpanContext, 3)
	userMiddleware := func(next gobus.Handler) gobus.Handler {
		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
			inSpan <- trace.SpanContextFromContext(ctx)
			return next(ctx, mc, msg)
		}
	}
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp), gobus.WithMiddleware(userMiddleware))
	done := make(chan struct{})
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			if mc.Attempt() <= int(w.GetFailTimes()) {
				return fmt.Errorf("attempt %d fails", mc.Attempt())
			}
			close(done)
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 1, Delayed: 1, Delay: 10 * time.Millisecond, MaxDelay: time.Second}))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w", FailTimes: 2}); err != nil {
		t.Fatal(err)
	}
	receive(t, done, "the third attempt")
	spans := rec.wait(t, "send and three tries", 4, anySpan)
	send, tries := spans[0], spans[1:]
	want := []struct {
		attempt, delivery int64
		step              string
	}{{1, 1, "retry-now"}, {2, 1, "retry-later"}, {3, 2, ""}}
	for i, s := range tries {
		w := want[i]
		if got := receive(t, inSpan, "the middleware's span"); got.SpanID() != s.SpanContext().SpanID() {
			t.Errorf("try %d: the user's middleware ran in span %s, want the try's %s", i+1, got.SpanID(), s.SpanContext().SpanID())
		}
		if s.Parent().SpanID() != send.SpanContext().SpanID() {
			t.Errorf("try %d is a child of %s, want the send span %s", i+1, s.Parent().SpanID(), send.SpanContext().SpanID())
		}
		checkAttrs(t, s, map[string]any{"gobus.attempt": w.attempt, "gobus.delivery": w.delivery})
		retry, retried := hasEvent(s, "gobus.retry")
		exception, failed := hasEvent(s, "exception")
		if w.step == "" {
			if s.Status().Code.String() != "Unset" || retried || failed || spanAttr(s, "gobus.next_step").Type() != attribute.EMPTY {
				t.Errorf("the successful try: status %v, events %v, attributes %v", s.Status(), s.Events(), s.Attributes())
			}
			continue
		}
		checkAttrs(t, s, map[string]any{"gobus.next_step": w.step, "error.type": "handler"})
		if s.Status().Code.String() != "Error" || s.Status().Description != fmt.Sprintf("attempt %d fails", i+1) {
			t.Errorf("try %d has status %v, want an error", i+1, s.Status())
		}
		if !failed || eventAttr(exception, "exception.message").AsString() != fmt.Sprintf("attempt %d fails", i+1) || eventAttr(exception, "exception.type").AsString() != "*errors.errorString" {
			t.Errorf("try %d: exception event %v", i+1, exception)
		}
		if !retried || eventAttr(retry, "gobus.next_step").AsString() != w.step {
			t.Errorf("try %d: retry event %v, want one saying %s", i+1, retry, w.step)
		}
		if _, moved := hasEvent(s, "gobus.moved_to_error_stream"); moved {
			t.Errorf("try %d says the message moved to the error stream", i+1)
		}
	}
}

// A handler that panics, without retries: its span records the panic as
// an exception with the stack, and the move to the error stream as an
// event.
func TestTracingShowsTheMoveToTheErrorStream(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			panic("out of paper")
		}))
	}, gobus.WithRetryPolicy(gobus.NoRetries()))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	s := rec.wait(t, "the try", 1, func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindConsumer })[0]
	checkAttrs(t, s, map[string]any{"gobus.next_step": "error-stream", "error.type": "panic"})
	moved, ok := hasEvent(s, "gobus.moved_to_error_stream")
	if !ok || eventAttr(moved, "messaging.destination.name").AsString() != "gobus.err.worker" || eventAttr(moved, "error.type").AsString() != "panic" {
		t.Errorf("event %v, want the move to gobus.err.worker; events %v", moved, s.Events())
	}
	exception, ok := hasEvent(s, "exception")
	if stack := eventAttr(exception, "exception.stacktrace").AsString(); !ok || !strings.Contains(stack, "tracing_test.go") {
		t.Errorf("the exception event has no stack of the handler: %v", exception)
	}
	if s.Status().Code.String() != "Error" || !strings.Contains(s.Status().Description, "out of paper") {
		t.Errorf("status %v, want the panic", s.Status())
	}
}

// A message from another program, with a W3C trace context in lowercase
// traceparent and tracestate headers, is handled in that trace: the
// process span's parent is the foreign span, and what the handler
// publishes carries the trace on in lowercase headers.
func TestTracingContinuesAForeignTrace(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	})
	const (
		foreignTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		foreignSpan  = "00f067aa0ba902b7"
	)
	msg := rawMessage("gobus.cmd.worker.gobustest.v1.Work", "foreign-1", "gobustest.v1.Work", "application/protobuf", workBody("w"))
	msg.Header.Set("traceparent", "00-"+foreignTrace+"-"+foreignSpan+"-01")
	msg.Header.Set("tracestate", "rojo=00f067aa0ba902b7")
	if _, err := c.JetStream().PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	spans := rec.wait(t, "process and publish", 2, anySpan)
	process, publish := spans[0], spans[1]
	if got := process.SpanContext().TraceID().String(); got != foreignTrace {
		t.Errorf("process span in trace %s, want the foreign %s", got, foreignTrace)
	}
	if got := process.Parent().SpanID().String(); got != foreignSpan || !process.Parent().IsRemote() {
		t.Errorf("process span's parent %s (remote %v), want the foreign %s", got, process.Parent().IsRemote(), foreignSpan)
	}
	if got := process.SpanContext().TraceState().Get("rojo"); got != foreignSpan {
		t.Errorf("tracestate rojo=%q, want it carried on", got)
	}
	stored, err := mustStream(t, c, "gobus_events").GetLastMsgForSubject(context.Background(), "gobus.evt.gobustest.v1.WorkDone")
	if err != nil {
		t.Fatal(err)
	}
	want := "00-" + foreignTrace + "-" + publish.SpanContext().SpanID().String() + "-01"
	if got := stored.Header["traceparent"]; len(got) != 1 || got[0] != want {
		t.Errorf("the published event's traceparent header is %q, want %q; headers %v", got, want, stored.Header)
	}
	if got := stored.Header["tracestate"]; len(got) != 1 || got[0] != "rojo=00f067aa0ba902b7" {
		t.Errorf("the published event's tracestate header is %q; headers %v", got, stored.Header)
	}
	for k := range stored.Header {
		if (strings.EqualFold(k, "traceparent") || strings.EqualFold(k, "tracestate")) && k != strings.ToLower(k) {
			t.Errorf("header %q: trace context headers must be lowercase", k)
		}
	}
}

// Without an SDK, nothing is recorded, but a trace context that came with
// a message goes on with what its handler publishes, as the OpenTelemetry
// API's no-op tracer passes it on; a message without one adds none.
// WithoutTracing neither reads nor writes the headers.
func TestTracingWithoutSDKPassesTheContextOn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []gobus.Option
		want string // traceparent of the published event, given one on the command
	}{
		{"global provider unset", nil, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"WithoutTracing", []gobus.Option{gobus.WithoutTracing()}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := connect(t, newServerURL(t), tc.opts...)
			startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
				return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
					return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
				}))
			})
			events := mustStream(t, c, "gobus_events")
			for i, traceparent := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""} {
				id := fmt.Sprintf("w-%d", i)
				msg := rawMessage("gobus.cmd.worker.gobustest.v1.Work", id, "gobustest.v1.Work", "application/protobuf", workBody(id))
				if traceparent != "" {
					msg.Header.Set("traceparent", traceparent)
				}
				if _, err := c.JetStream().PublishMsg(context.Background(), msg); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the event of "+id, func() bool {
					info, err := events.Info(context.Background())
					return err == nil && info.State.Msgs == uint64(i+1)
				})
				stored, err := events.GetLastMsgForSubject(context.Background(), "gobus.evt.gobustest.v1.WorkDone")
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if traceparent == "" {
					want = ""
				}
				if got := stored.Header.Get("traceparent"); got != want {
					t.Errorf("event of %s: traceparent %q, want %q", id, got, want)
				}
			}
		})
	}
}

// WithoutTracing wins over a tracer provider given before it, and the
// client's sends carry no trace context.
func TestWithoutTracingRecordsNothing(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp), gobus.WithoutTracing())
	ctx, span := rec.tp.Tracer("test").Start(context.Background(), "caller")
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	span.End()
	stored, err := mustStream(t, c, "gobus_queue_worker").GetLastMsgForSubject(context.Background(), "gobus.cmd.worker.gobustest.v1.Work")
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.Header.Get("traceparent"); got != "" {
		t.Errorf("traceparent %q, want none", got)
	}
	if n := len(rec.sr.Ended()); n != 1 {
		t.Errorf("%d spans, want only the caller's:\n%s", n, describeSpans(rec.sr.Ended()))
	}
}

// A send from a caller's span is its child.
func TestTracingSendIsAChildOfTheCaller(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp))
	ctx, caller := rec.tp.Tracer("test").Start(context.Background(), "caller")
	batch := c.NewBatch(0)
	if err := gobustestv1.SendWork(ctx, batch, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	caller.End()
	spans := rec.wait(t, "caller and send", 2, anySpan)
	var send sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindProducer {
			send = s
		}
	}
	if send == nil || send.Parent().SpanID() != caller.SpanContext().SpanID() {
		t.Fatalf("no send span that is a child of the caller's:\n%s", describeSpans(spans))
	}
}

// Every log line about a message names its endpoint, type, id, attempt
// and trace id: the trace its sender recorded, which the process spans
// continue.
func TestLogLinesCarryTheTraceID(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	var logs natstest.LockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp), gobus.WithLogger(logger))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return fmt.Errorf("attempt %d fails", mc.Attempt())
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 1}))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}, gobus.WithMessageID("w-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	send := rec.wait(t, "the send", 1, func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindProducer })[0]
	want := map[string]any{
		"endpoint": "worker",
		"type":     "gobustest.v1.Work",
		"id":       "w-1",
		"trace_id": send.SpanContext().TraceID().String(),
	}
	waitFor(t, "the error stream's log line", func() bool { return strings.Contains(logs.String(), "moved to the error stream") })
	lines := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["id"] != nil {
			lines[rec["msg"].(string)] = rec
		}
	}
	for _, msg := range []string{"gobus: handler failed; retrying at once", "gobus: message moved to the error stream"} {
		rec, ok := lines[msg]
		if !ok {
			t.Errorf("no log line %q in:\n%s", msg, logs.String())
			continue
		}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("%q: %s = %v, want %v", msg, k, rec[k], v)
			}
		}
		if rec["attempt"] == nil {
			t.Errorf("%q has no attempt: %v", msg, rec)
		}
	}
	if a := lines["gobus: message moved to the error stream"]["attempt"]; a != float64(2) {
		t.Errorf("the error stream's line says attempt %v, want 2", a)
	}
}

// A send that fails has an error status, error.type and the exception.
func TestTracingShowsAFailedSend(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	// Without the claim check, which would store the body in the object
	// store rather than fail the send.
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp), gobus.WithoutClaimCheck())
	err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: strings.Repeat("x", 2<<20)})
	if !errors.Is(err, gobus.ErrTooLarge) {
		t.Fatalf("sending 2 MiB: %v, want ErrTooLarge", err)
	}
	s := rec.wait(t, "the send", 1, anySpan)[0]
	checkAttrs(t, s, map[string]any{"error.type": "too-large"})
	if _, ok := hasEvent(s, "exception"); !ok || s.Status().Code.String() != "Error" {
		t.Errorf("status %v, events %v: want the failure", s.Status(), s.Events())
	}
}

// A reply to a requesting client goes to the client's inbox, a subject
// per request: its span is named "reply (temporary)", with the subject as
// an attribute, and it is a child of the quoter's process span.
func TestTracingNamesARequestsReplyTemporary(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp))
	startEndpoint(t, c, "quoter", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterQuoterHandler(ep, quoter{}) })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := gobustestv1.RequestQuote(ctx, c, &gobustestv1.Quote{Item: "book"}); err != nil {
		t.Fatal(err)
	}
	spans := rec.wait(t, "send, process and reply", 3, anySpan)
	send, process, reply := spans[0], spans[1], spans[2]
	if send.Name() != "send gobus.cmd.quoter.gobustest.v1.Quote" || process.Parent().SpanID() != send.SpanContext().SpanID() {
		t.Errorf("spans:\n%s", describeSpans(spans))
	}
	if reply.Name() != "reply (temporary)" || reply.Parent().SpanID() != process.SpanContext().SpanID() {
		t.Errorf("the reply's span %q is a child of %s, want \"reply (temporary)\" under the process span:\n%s", reply.Name(), reply.Parent().SpanID(), describeSpans(spans))
	}
	checkAttrs(t, reply, map[string]any{"messaging.operation.name": "reply", "messaging.destination.temporary": true, "cloudevents.event_type": "gobustest.v1.Quoted"})
	if dest := spanAttr(reply, "messaging.destination.name").AsString(); !strings.HasPrefix(dest, "_INBOX.") {
		t.Errorf("the reply's destination is %q, want the client's inbox", dest)
	}
}

// A structured-mode message carries its trace context as the traceparent
// and tracestate extensions of the JSON event; the handling continues it.
func TestTracingContinuesAStructuredModeTrace(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := connect(t, newServerURL(t), gobus.WithTracerProvider(rec.tp))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil }))
	})
	msg := nats.NewMsg("gobus.cmd.worker.gobustest.v1.Work")
	msg.Header.Set("content-type", "application/cloudevents+json")
	msg.Data = []byte(`{"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"structured-sender",
		"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","tracestate":"rojo=1",
		"datacontenttype":"application/json","data":{"id":"w"}}`)
	if _, err := c.JetStream().PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	s := rec.wait(t, "the process span", 1, anySpan)[0]
	if s.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent().SpanID().String() != "00f067aa0ba902b7" || s.SpanContext().TraceState().Get("rojo") != "1" {
		t.Errorf("process span's parent %s/%s, tracestate %q: want the event's trace context", s.Parent().TraceID(), s.Parent().SpanID(), s.SpanContext().TraceState())
	}
}
