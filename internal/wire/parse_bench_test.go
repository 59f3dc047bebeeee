package wire

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// BenchmarkParse reads the envelope of a command as gobus sends it: the
// receiving side's cost per message, after nats.go has decoded the
// headers.
func BenchmarkParse(b *testing.B) {
	e := Envelope{
		ID: "0b6b5d0e-5d0c-4b8e-9c39-3d1d2b9c1a11", Type: "shop.sales.v1.PlaceOrder", Source: "checkout",
		Time: time.Date(2026, 12, 2, 7, 0, 0, 123456789, time.UTC), ContentType: ContentTypeProtobuf,
		Intent: "send", Data: []byte("\n\x05order"),
	}
	m := e.Message("gobus.sales.cmd.shop.sales.v1.PlaceOrder")
	// As nats.go decodes them: one slice per value.
	h := nats.Header{}
	for k, vs := range m.Header {
		h[k] = append([]string(nil), vs...)
	}
	b.ReportAllocs()
	var got Envelope
	for range b.N {
		if err := ParseInto(&got, h, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessage writes the NATS message of a command as gobus sends
// it: the sending side's cost per message, before nats.go encodes it.
func BenchmarkMessage(b *testing.B) {
	e := Envelope{
		ID: "0b6b5d0e-5d0c-4b8e-9c39-3d1d2b9c1a11", Type: "shop.sales.v1.PlaceOrder", Source: "checkout",
		Time: time.Date(2026, 12, 2, 7, 0, 0, 123456789, time.UTC), ContentType: ContentTypeProtobuf,
		CorrelationID: "0b6b5d0e-5d0c-4b8e-9c39-3d1d2b9c1a11", Intent: "send", Data: []byte("\n\x05order"),
	}
	b.ReportAllocs()
	for range b.N {
		if m := e.Message("gobus.sales.cmd.shop.sales.v1.PlaceOrder"); len(m.Header) == 0 {
			b.Fatal("no headers")
		}
	}
}
