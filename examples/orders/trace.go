package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// startTracing, with -trace, installs an OpenTelemetry SDK as the global
// tracer provider, which gobus records its spans with by default, keeping
// every span in memory. The function it returns prints the trace of the
// first order; run defers it until the client is closed, when every span
// has ended. A real program exports the spans to a collector instead:
// docs/observability.md shows how.
func startTracing(cfg config, out io.Writer) (printTrace func()) {
	if !cfg.trace {
		return func() {}
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	otel.SetTracerProvider(tp)
	return func() {
		ctx := context.Background()
		_ = tp.ForceFlush(ctx)
		printOrderTrace(out, spans.GetSpans())
		_ = tp.Shutdown(ctx)
	}
}

// printOrderTrace prints the trace of the first order placed as a tree of
// its spans, each with its start since the trace began and its duration.
func printOrderTrace(w io.Writer, spans tracetest.SpanStubs) {
	first := firstOrder(spans)
	if first == nil {
		fmt.Fprintln(w, "\nno order was traced in this process")
		return
	}
	traceID := first.SpanContext.TraceID()
	var inTrace []*tracetest.SpanStub
	ids := map[trace.SpanID]bool{}
	for i := range spans {
		if s := &spans[i]; s.SpanContext.TraceID() == traceID {
			inTrace = append(inTrace, s)
			ids[s.SpanContext.SpanID()] = true
		}
	}
	sort.Slice(inTrace, func(i, j int) bool { return inTrace[i].StartTime.Before(inTrace[j].StartTime) })
	children := map[trace.SpanID][]*tracetest.SpanStub{}
	var roots []*tracetest.SpanStub
	for _, s := range inTrace {
		if p := s.Parent.SpanID(); s.Parent.IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	fmt.Fprintf(w, "\ntrace %s of order %s, %d spans (start, duration, span):\n", traceID, attr(first, "messaging.message.id"), len(inTrace))
	t0 := inTrace[0].StartTime
	var print func(s *tracetest.SpanStub, prefix, branch string)
	print = func(s *tracetest.SpanStub, prefix, branch string) {
		fmt.Fprintf(w, "  +%.3fs %9s  %s%s%s\n", s.StartTime.Sub(t0).Seconds(), took(s), prefix, branch, label(s))
		kids := children[s.SpanContext.SpanID()]
		switch branch {
		case "├─ ":
			prefix += "│  "
		case "└─ ":
			prefix += "   "
		}
		for i, c := range kids {
			if i == len(kids)-1 {
				print(c, prefix, "└─ ")
			} else {
				print(c, prefix, "├─ ")
			}
		}
	}
	for _, r := range roots {
		print(r, "", "")
	}
}

// firstOrder is the earliest span of a PlaceOrder's sending or handling.
func firstOrder(spans tracetest.SpanStubs) *tracetest.SpanStub {
	var first *tracetest.SpanStub
	for i := range spans {
		s := &spans[i]
		if strings.HasSuffix(attr(s, "cloudevents.event_type"), ".PlaceOrder") && (first == nil || s.StartTime.Before(first.StartTime)) {
			first = s
		}
	}
	return first
}

// label names a span the way the demo's flow does: the endpoint, what it
// did, the message type; then the try, if it is a retry, and how it failed.
func label(s *tracetest.SpanStub) string {
	endpoint := attr(s, "messaging.consumer.group.name")
	if s.SpanKind == trace.SpanKindProducer {
		endpoint = attr(s, "cloudevents.event_source")
	}
	typ := attr(s, "cloudevents.event_type")
	typ = typ[strings.LastIndex(typ, ".")+1:]
	l := fmt.Sprintf("%s %s %s", endpoint, attr(s, "messaging.operation.name"), typ)
	if a := attr(s, "gobus.attempt"); a != "" && a != "1" {
		l += " (attempt " + a + ")"
	}
	if s.Status.Code == codes.Error {
		l += " failed: " + s.Status.Description + "; next: " + attr(s, "gobus.next_step")
	}
	return l
}

func took(s *tracetest.SpanStub) string {
	d := s.EndTime.Sub(s.StartTime)
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}

// attr is the value of the span's attribute key, as text.
func attr(s *tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}
