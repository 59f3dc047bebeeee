package audit_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/audit"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// A record keeps the message's headers but the server's instructions,
// names itself for de-duplication per endpoint, and reads back.
func TestMessageReadsBack(t *testing.T) {
	sent := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	env := wire.Envelope{ID: "m-1", Type: "shop.v1.Placed", Source: "sales", Time: sent, CorrelationID: "order 7", CausationID: "m-0", ContentType: wire.ContentTypeProtobuf}
	h := env.Message("gobus.evt.shop.v1.Placed").Header
	h.Set("Nats-Expected-Stream", "elsewhere")
	h.Set("x-tenant", "acme")
	started := sent.Add(time.Second)
	m := audit.Message(topology.Names{Prefix: "gobus"}, "billing", h, &env, started, started.Add(1500*time.Microsecond))
	if want := "gobus.audit.billing." + topology.ConversationToken("order 7"); m.Subject != want {
		t.Errorf("subject %s, want %s", m.Subject, want)
	}
	if m.Header.Get("Nats-Expected-Stream") != "" || m.Header.Get(nats.MsgIdHdr) != "billing:m-1" || m.Header.Get("x-tenant") != "acme" || len(m.Data) != 0 {
		t.Errorf("headers %v, body %q", m.Header, m.Data)
	}
	if got := m.Header.Get(audit.HeaderEnded); got != "2026-12-01T23:00:01.001500000Z" {
		t.Errorf("ended %s, want nine fractional digits", got)
	}
	r := audit.FromHeaders(m.Header)
	if r.Endpoint != "billing" || r.ID != "m-1" || r.CorrelationID != "order 7" || r.CausationID != "m-0" || r.Source != "sales" ||
		!r.Time.Equal(sent) || !r.Started.Equal(started) || r.Ended.Sub(r.Started) != 1500*time.Microsecond {
		t.Errorf("read back %+v", r)
	}

	// A structured-mode message has its attributes in the body; the record
	// has them as headers, and nothing that marks it structured.
	structured := nats.Header{}
	structured.Set(wire.HeaderContentType, wire.ContentTypeCloudEventsJSON)
	env.Structured = true
	r = audit.FromHeaders(audit.Message(topology.Names{Prefix: "gobus"}, "billing", structured, &env, started, started).Header)
	if r.ID != "m-1" || r.Type != "shop.v1.Placed" || r.CorrelationID != "order 7" || r.Headers.Get(wire.HeaderContentType) != "" {
		t.Errorf("structured record read back %+v", r)
	}
}
