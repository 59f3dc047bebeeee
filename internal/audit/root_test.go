package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/audit"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// The first message of a conversation carries no correlation id: its
// record belongs to the conversation named by its own id, beside the
// records of the messages it caused.
func TestFirstMessageIsInItsOwnConversation(t *testing.T) {
	t.Parallel()
	names := topology.Names{Prefix: "gobus"}
	h := nats.Header{}
	h.Set(wire.HeaderSpecVersion, "1.0")
	h.Set(wire.HeaderID, "order-1")
	h.Set(wire.HeaderType, "shop.sales.v1.PlaceOrder")
	h.Set(wire.HeaderSource, "storefront")
	env, err := wire.Parse(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m := audit.Message(names, "sales", h, env, now, now)
	if want := names.AuditSubject("sales", "order-1"); m.Subject != want {
		t.Errorf("subject %s, want %s", m.Subject, want)
	}
	if r := audit.FromHeaders(m.Header); r.CorrelationID != "order-1" {
		t.Errorf("record's correlation id %q, want its own id order-1", r.CorrelationID)
	}
	if !strings.HasSuffix(m.Subject, ".order-1") {
		t.Errorf("subject %s", m.Subject)
	}
}
