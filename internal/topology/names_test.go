package topology

import (
	"strings"
	"testing"
)

// The default names are those docs/wire.md documents.
func TestDefaultNames(t *testing.T) {
	n := Names{Prefix: DefaultPrefix}
	for got, want := range map[string]string{
		n.QueueStream("sales"):                     "gobus_queue_sales",
		n.EventsStream():                           "gobus_events",
		n.ErrorsStream():                           "gobus_errors",
		n.CommandSubject("sales", "shop.v1.Place"): "gobus.cmd.sales.shop.v1.Place",
		n.EventSubject("shop.v1.Placed"):           "gobus.evt.shop.v1.Placed",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// Every valid prefix and endpoint name has streams of its own: no two
// configurations share a stream name. With '_' in prefixes, prefix
// "cx_queue"'s events stream and prefix "cx"'s queue of endpoint "events"
// were both "cx_queue_events".
func TestStreamNamesAreInjective(t *testing.T) {
	parts := []string{"cx", "cx_queue", "queue", "queue_cx", "events", "errors", "cx-queue", "q_events", "a_errors", "x", "KV", "kv", "OBJ", "deliveries", "audit", "schemas"}
	owner := map[string]string{}
	claim := func(stream, who string) {
		if prev, ok := owner[stream]; ok && prev != who {
			t.Errorf("stream %s belongs to %s and %s", stream, prev, who)
		}
		owner[stream] = who
	}
	for _, prefix := range parts {
		if CheckPrefix(prefix) != nil {
			continue
		}
		n := Names{Prefix: prefix}
		claim(n.EventsStream(), "events of "+prefix)
		claim(n.ErrorsStream(), "errors of "+prefix)
		claim("KV_"+n.DeliveriesBucket(), "deliveries bucket of "+prefix)
		claim("KV_"+n.SchemasBucket(), "schemas bucket of "+prefix)
		claim(n.AuditStream(), "audit of "+prefix)
		for _, endpoint := range parts {
			if ValidToken(endpoint) {
				claim(n.QueueStream(endpoint), "queue "+endpoint+" of "+prefix)
			}
		}
	}
	for _, bad := range []string{"cx_queue", "KV", "obj"} {
		if err := CheckPrefix(bad); err == nil {
			t.Errorf("prefix %s accepted", bad)
		}
	}
}

// The validators accept what generated code writes and refuse, with a
// reason, what cannot work on the wire.
func TestValidators(t *testing.T) {
	for _, ok := range []string{"shop.sales.v1.PlaceOrder", "audit.record", "a-b_c.D9"} {
		if err := CheckSuffix(ok); err != nil {
			t.Errorf("CheckSuffix(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x.*", "x.>", "a..b", ".a", "a.", "a b", "a\nb", "ä", strings.Repeat("a", MaxSuffixLength+1)} {
		if CheckSuffix(bad) == nil {
			t.Errorf("CheckSuffix(%q) accepted", bad)
		}
	}
	if err := CheckSuffix(strings.Repeat("a", MaxSuffixLength)); err != nil {
		t.Errorf("a suffix at the bound: %v", err)
	}
	for _, bad := range []string{"", "a.\r\nB", "a b", "1a", "a..b", "a.*", strings.Repeat("a", MaxTypeLength+1)} {
		if CheckType(bad) == nil {
			t.Errorf("CheckType(%q) accepted", bad)
		}
	}
	if err := CheckType("shop.sales.v1.PlaceOrder"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "a\nb", strings.Repeat("s", MaxSourceLength+1)} {
		if CheckSource(bad) == nil {
			t.Errorf("CheckSource(%.20q) accepted", bad)
		}
	}
}

// The longest subject gobus publishes, with the verb, a reply subject of
// nats.go's default inbox, the sizes and the line's end, fits in a
// quarter of the NATS server's default control line.
func TestSubjectBoundFitsTheControlLine(t *testing.T) {
	n := Names{Prefix: strings.Repeat("p", MaxTokenLength)}
	subject := n.CommandSubject(strings.Repeat("e", MaxTokenLength), strings.Repeat("s", MaxSuffixLength))
	if len(subject) != MaxSubjectLength {
		t.Fatalf("the longest subject is %d bytes, MaxSubjectLength says %d", len(subject), MaxSubjectLength)
	}
	line := "HPUB " + subject + " _INBOX.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUv 65535 1048576\r\n"
	if len(line) > DefaultMaxControlLine/4 {
		t.Errorf("the longest control line is %d bytes, more than a quarter of %d", len(line), DefaultMaxControlLine)
	}
}
