package gobustest

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gobus "github.com/gobusdev/gobus/runtime"
)

// ExpectSent returns the one command of type M the handler sent through
// mc at once, and fails the test, saying everything the handler did
// record, if it sent none or several.
func ExpectSent[M proto.Message](t testing.TB, mc *gobus.MessageContext) M {
	t.Helper()
	return expectOne(t, mc, "sent", Sent[M](mc))
}

// ExpectPublished returns the one event of type M the handler published
// through mc at once, and fails the test as [ExpectSent] does otherwise.
func ExpectPublished[M proto.Message](t testing.TB, mc *gobus.MessageContext) M {
	t.Helper()
	return expectOne(t, mc, "published", Published[M](mc))
}

// ExpectReplied returns the one reply of type M the handler gave through
// mc, and fails the test as [ExpectSent] does otherwise.
func ExpectReplied[M proto.Message](t testing.TB, mc *gobus.MessageContext) M {
	t.Helper()
	return expectOne(t, mc, "replied", Replied[M](mc))
}

// ExpectScheduled returns the one message of type M the handler held back
// through mc, with its delay, and fails the test as [ExpectSent] does
// otherwise.
func ExpectScheduled[M proto.Message](t testing.TB, mc *gobus.MessageContext) Held[M] {
	t.Helper()
	held := Scheduled[M](mc)
	if len(held) != 1 {
		t.Fatalf("%s", wantOne(mc, typeName[M](), "scheduled", len(held)))
	}
	return held[0]
}

// ExpectNothing fails the test, saying what the handler recorded, if the
// handler sent, published, replied, scheduled or cancelled anything
// through mc.
func ExpectNothing(t testing.TB, mc *gobus.MessageContext) {
	t.Helper()
	if len(mc.Recorded()) > 0 || len(mc.RecordedCancels()) > 0 {
		t.Fatalf("gobustest: want nothing dispatched by the handler of %s; it recorded:\n%s", mc.Type(), Describe(mc))
	}
}

func expectOne[M proto.Message](t testing.TB, mc *gobus.MessageContext, verb string, got []M) M {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%s", wantOne(mc, typeName[M](), verb, len(got)))
	}
	return got[0]
}

func wantOne(mc *gobus.MessageContext, typ, verb string, n int) string {
	return fmt.Sprintf("gobustest: want one %s %s by the handler of %s, got %d; it recorded:\n%s", typ, verb, mc.Type(), n, Describe(mc))
}

// Describe lists what the handler recorded in mc, one message a line,
// such as
//
//	published shop.sales.v1.OrderPlaced{order_id:"o-1" total_cents:2500}
//	scheduled (in 1h0m0s) command shop.shipping.v1.DispatchParcel{order_id:"o-1"}
//
// or "(nothing)".
func Describe(mc *gobus.MessageContext) string {
	var lines []string
	for _, r := range mc.Recorded() {
		lines = append(lines, "  "+describeRecorded(r))
	}
	for _, id := range mc.RecordedCancels() {
		lines = append(lines, "  cancelled schedule "+id)
	}
	if len(lines) == 0 {
		return "  (nothing)"
	}
	return strings.Join(lines, "\n")
}

func describeRecorded(r gobus.RecordedOutgoing) string {
	if !r.DeliverAt().IsZero() {
		return fmt.Sprintf("scheduled (in %v) %s %s", r.Delay, r.Route.Kind, describe(r.Message))
	}
	return verbOf(r.Route.Kind) + " " + describe(r.Message)
}

func verbOf(k gobus.Kind) string {
	switch k {
	case gobus.KindCommand:
		return "sent"
	case gobus.KindEvent:
		return "published"
	case gobus.KindReply:
		return "replied"
	}
	return k.String()
}

// typeName is M's proto full name.
func typeName[M proto.Message]() string {
	var zero M
	return string(zero.ProtoReflect().Descriptor().FullName())
}
