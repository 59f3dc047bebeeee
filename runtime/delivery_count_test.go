package gobus

import "testing"

// The delivery count read from an ack subject is the one
// jetstream's Metadata reads, for both forms of the subject, and a subject
// Metadata rejects is rejected.
func TestDeliveryCountFromAckSubject(t *testing.T) {
	for _, tc := range []struct {
		reply string
		n     int
		ok    bool
	}{
		{"$JS.ACK.gobus_queue.worker.1.42.17.1733090000000000000.3", 1, true},
		{"$JS.ACK.gobus_queue.worker.12.42.17.1733090000000000000.0", 12, true},
		{"$JS.ACK._.ACCHASH.gobus_queue.worker.3.42.17.1733090000000000000.0.rnd", 3, true},
		{"$JS.ACK.hub.ACCHASH.gobus_queue.worker.7.42.17.1733090000000000000.0", 7, true},
		{"$JS.ACK.hub.ACCHASH.gobus_queue.worker.25.42.17.1733090000000000000.0.rnd.more", 25, true},
		{"$JS.ACK.s.c.x1.42.17.1733090000000000000.0", 0, true}, // not a number: 0, as Metadata says
		{"$JS.ACK.s.c.1.2.3.4", 0, false},                       // 8 tokens
		{"$JS.ACK.d.s.c.1.2.3.4.5", 0, false},                   // 10 tokens
		{"$JS.NAK.s.c.1.2.3.4.5", 0, false},
		{"_INBOX.abc.def", 0, false},
		{"", 0, false},
	} {
		n, ok := deliveryCount(tc.reply)
		if n != tc.n || ok != tc.ok {
			t.Errorf("deliveryCount(%q) = %d, %v, want %d, %v", tc.reply, n, ok, tc.n, tc.ok)
		}
	}
}

func TestDeliveryCountAllocatesNothing(t *testing.T) {
	reply := "$JS.ACK._.ACCHASH.gobus_queue.worker.3.42.17.1733090000000000000.0.rnd"
	if a := testing.AllocsPerRun(100, func() { _, _ = deliveryCount(reply) }); a != 0 {
		t.Errorf("deliveryCount allocates %v times", a)
	}
}
