package gobus

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/audit"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

func auditedHandler(on bool) (Handler, Handler, *MessageContext, *auditor) {
	env := &wire.Envelope{ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Type: "gobustest.v1.Work", Source: "web", CorrelationID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", ContentType: wire.ContentTypeProtobuf}
	mc := &MessageContext{env: env, headers: env.Message("gobus.cmd.worker.gobustest.v1.Work").Header}
	ep := &Endpoint{name: "worker"}
	var a *auditor
	if on {
		a = &auditor{queue: make(chan auditEntry, auditQueue), failed: noop.Int64Counter{}}
		ep.auditor = a
	}
	inner := Handler(func(context.Context, *MessageContext, proto.Message) error { return nil })
	return ep.auditing(inner), inner, mc, a
}

// With auditing off the link is not there at all; with it on, the
// handling path allocates nothing: the record is made off it.
func TestAuditingCostsNothingOffAndAllocatesNothingOn(t *testing.T) {
	h, inner, _, _ := auditedHandler(false)
	if reflect.ValueOf(h).Pointer() != reflect.ValueOf(inner).Pointer() {
		t.Error("with auditing off, the audit link wraps the handler")
	}
	h, _, mc, a := auditedHandler(true)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		_ = h(ctx, mc, nil)
		<-a.queue
	}); n != 0 {
		t.Errorf("with auditing on, %v allocations per message on the handling path", n)
	}
}

// BenchmarkAudit measures the audit link on the handling path, and the
// making of a record, which the auditor's goroutine does:
//
//	go test -run '^$' -bench Audit -benchmem ./runtime
func BenchmarkAudit(b *testing.B) {
	b.Run("link-on", func(b *testing.B) {
		h, _, mc, a := auditedHandler(true)
		ctx := context.Background()
		b.ReportAllocs()
		for range b.N {
			_ = h(ctx, mc, nil)
			<-a.queue
		}
	})
	b.Run("record", func(b *testing.B) {
		_, _, mc, _ := auditedHandler(true)
		names := topology.Names{Prefix: "gobus"}
		b.ReportAllocs()
		for range b.N {
			_ = audit.Message(names, "worker", mc.headers, mc.env, mc.env.Time, mc.env.Time)
		}
	})
}
