package gobus_test

// Bad input on the wire. Whatever arrives on an endpoint's subjects, a
// message it cannot handle reaches the error stream at once, with a
// gobus-error-kind and a gobus-error-message naming the problem, and its
// headers and body as they came; the endpoint keeps handling the messages
// after it; nothing else is lost or handled twice.
//
// TestPoisonMessagesSkipRetries already covers a message without any
// header, a truncated-varint body, an unknown ce-type, the content type
// text/xml, a panic and an unrecoverable error. The tests here follow the
// rest of the list: plain NATS messages, bodies that are not the declared
// type, a type on another type's subject, content types, huge headers and
// malformed headers.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

const (
	subjectOfWork     = "gobus.cmd.worker.gobustest.v1.Work"
	subjectOfWorkDone = "gobus.evt.gobustest.v1.WorkDone"
)

// badInput is a message an endpoint must refuse, and how it must say so.
type badInput struct {
	name string
	msg  *nats.Msg
	// kind is the expected gobus-error-kind.
	kind string
	// reason is a part of the expected gobus-error-message.
	reason string
}

// workBody is the protobuf body of a Work.
func workBody(id string) []byte {
	b, err := proto.Marshal(&gobustestv1.Work{Id: id})
	if err != nil {
		panic(err)
	}
	return b
}

// withHeader returns m with header name set to value.
func withHeader(m *nats.Msg, name, value string) *nats.Msg {
	m.Header.Set(name, value)
	return m
}

// badWork is a Work from another language that the test spoils.
func badWork(id string) *nats.Msg {
	return rawMessage(subjectOfWork, id, gobustestv1.WorkType, "application/protobuf", workBody(id))
}

// workerBench is an endpoint "worker" that handles Work and WorkDone and
// counts what its handlers see.
type workerBench struct {
	c       *gobus.Client
	handled *counter
}

func newWorkerBench(t *testing.T, c *gobus.Client) *workerBench {
	t.Helper()
	b := &workerBench{c: c, handled: newCounter()}
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			b.handled.add("work:" + w.GetId())
			return nil
		})); err != nil {
			return err
		}
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			b.handled.add("done:" + e.GetId())
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 3, Delayed: 3, Delay: time.Hour, MaxDelay: time.Hour}))
	return b
}

// publish stores m in JetStream as another program would.
func (b *workerBench) publish(t *testing.T, m *nats.Msg) {
	t.Helper()
	if _, err := b.c.JetStream().PublishMsg(context.Background(), m); err != nil {
		t.Fatalf("publishing %s: %v", m.Subject, err)
	}
}

// healthyAfter sends a healthy command and event and waits until both are
// handled: the endpoint still runs on both of its consumers.
func (b *workerBench) healthyAfter(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, b.c, &gobustestv1.Work{Id: "healthy"}); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.PublishWorkDone(ctx, b.c, &gobustestv1.WorkDone{Id: "healthy"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the healthy command and event handled", func() bool {
		return b.handled.count("work:healthy") == 1 && b.handled.count("done:healthy") == 1
	})
}

// settled waits until both of the endpoint's consumers have nothing
// pending and nothing unacknowledged, and the queue is empty: every
// message was acked or moved.
func (b *workerBench) settled(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, stream := range []string{"gobus_queue_worker", "gobus_events"} {
		cons, err := b.c.JetStream().Consumer(ctx, stream, "worker")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "consumer worker on "+stream+" settled", func() bool {
			info, err := cons.Info(ctx)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		})
	}
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, b.c, "gobus_queue_worker") == 0 })
}

// refuses publishes bad, then a healthy command and event, and checks
// that bad is in the error stream with its kind and reason, as it came,
// tried by no handler, and that everything else was handled once.
func refuses(t *testing.T, bad badInput) {
	t.Helper()
	b := newWorkerBench(t, connect(t, newServerURL(t)))
	b.publish(t, bad.msg)
	b.healthyAfter(t)
	waitFor(t, "the bad message in the error stream", func() bool { return len(errorStreamMessages(t, b.c)) >= 1 })
	b.settled(t)
	copies := errorStreamMessages(t, b.c)
	if len(copies) != 1 {
		t.Fatalf("%d messages in the error stream, want 1", len(copies))
	}
	checkErrorCopy(t, copies[0], bad)
	if n := b.handled.sum(); n != 2 {
		t.Errorf("handlers ran %d times, want 2 (the healthy messages only)", n)
	}
}

// checkErrorCopy checks the error stream's copy of bad.msg.
func checkErrorCopy(t *testing.T, copied *jetstream.RawStreamMsg, bad badInput) {
	t.Helper()
	if kind := copied.Header.Get("gobus-error-kind"); kind != bad.kind {
		t.Errorf("gobus-error-kind %q, want %q", kind, bad.kind)
	}
	if msg := copied.Header.Get("gobus-error-message"); !strings.Contains(msg, bad.reason) {
		t.Errorf("gobus-error-message %.300q does not name the problem (%q)", msg, bad.reason)
	}
	if a := copied.Header.Get("gobus-attempts"); a != "1" {
		t.Errorf("gobus-attempts %s, want 1: the retries are skipped", a)
	}
	if s := copied.Header.Get("gobus-failed-subject"); s != bad.msg.Subject {
		t.Errorf("gobus-failed-subject %q, want %q", s, bad.msg.Subject)
	}
	if string(copied.Data) != string(bad.msg.Data) {
		t.Errorf("error copy body %x, want the original %x", copied.Data, bad.msg.Data)
	}
	for k, vs := range bad.msg.Header {
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		// NATS trims the spaces around header values on the wire.
		if got, want := copied.Header.Values(k), trimAll(vs); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("error copy header %s = %.100q, want the original %.100q", k, got, want)
		}
	}
}

func trimAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

func runBadInputs(t *testing.T, cases []badInput) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refuses(t, tc)
		})
	}
}

// Plain NATS messages, which carry no CloudEvents attributes in headers,
// are malformed: the error names every missing attribute.
func TestBadInputPlainNATSMessage(t *testing.T) {
	t.Parallel()
	ordinary := nats.NewMsg(subjectOfWork)
	ordinary.Header.Set("trace-id", "abc")
	ordinary.Header.Set("Nats-Msg-Id", "plain-1")
	ordinary.Data = workBody("plain")

	// (A structured-mode CloudEvent is handled: TestStructuredModeIsHandled.)

	partial := nats.NewMsg(subjectOfWork)
	partial.Header.Set("ce-specversion", "1.0")
	partial.Header.Set("ce-type", gobustestv1.WorkType)
	partial.Data = workBody("partial")

	runBadInputs(t, []badInput{
		{"ordinary headers only", ordinary, "malformed", "missing CloudEvents header ce-specversion, ce-id, ce-type, ce-source"},
		{"some attributes missing", partial, "malformed", "missing CloudEvents header ce-id, ce-source"},
		{"empty ce-id", withHeader(badWork("empty-id"), "ce-id", ""), "malformed", "missing CloudEvents header ce-id"},
		{"blank ce-source", withHeader(badWork("blank-source"), "ce-source", "   "), "malformed", "missing CloudEvents header ce-source"},
	})
}

// A header block that NATS clients cannot parse, written on the wire by
// hand: nats.go delivers the message without headers, and it is malformed
// like any message without CloudEvents headers.
func TestBadInputUnparsableHeaderBlock(t *testing.T) {
	t.Parallel()
	ns := natstest.RunServer(t)
	b := newWorkerBench(t, connect(t, ns.ClientURL()))
	body := workBody("broken-headers")
	hpub(t, ns, subjectOfWork, "NATS/1.0\r\nce-specversion: 1.0\r\nthis line has no colon\r\n\r\n", body)
	b.healthyAfter(t)
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, b.c)) == 1 })
	b.settled(t)
	copied := errorStreamMessages(t, b.c)[0]
	checkErrorCopy(t, copied, badInput{
		msg:    &nats.Msg{Subject: subjectOfWork, Data: body},
		kind:   "malformed",
		reason: "missing CloudEvents header ce-specversion, ce-id, ce-type, ce-source",
	})
	if n := b.handled.sum(); n != 2 {
		t.Errorf("handlers ran %d times, want 2", n)
	}
}

// hpub publishes a message with a raw header block over a plain TCP
// connection to ns, as a client with its own NATS protocol code might,
// and waits for the server to have processed it.
func hpub(t *testing.T, ns *server.Server, subject, header string, body []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", ns.Addr().String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("reading INFO: %q %v", line, err)
	}
	text := fmt.Sprintf("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\nHPUB %s %d %d\r\n%s%s\r\nPING\r\n",
		subject, len(header), len(header)+len(body), header, body)
	if _, err := conn.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for PONG: %v", err)
		}
		switch {
		case strings.HasPrefix(line, "PONG"):
			return
		case strings.HasPrefix(line, "-ERR"):
			t.Fatalf("server refused the message: %s", line)
		}
	}
}

// Bodies that certainly do not decode as the declared type (ce-type
// gobustest.v1.Work) are refused as kind decode, naming the type.
func TestBadInputBodyIsNotTheDeclaredType(t *testing.T) {
	t.Parallel()
	body := func(id string, data []byte) *nats.Msg {
		m := badWork(id)
		m.Data = data
		return m
	}
	jsonBody := func(id string, data string) *nats.Msg {
		m := body(id, []byte(data))
		m.Header.Set("content-type", "application/json")
		return m
	}
	var utf8 []byte
	utf8 = protowire.AppendTag(utf8, 1, protowire.BytesType)
	utf8 = protowire.AppendBytes(utf8, []byte{0xff, 0xfe})
	const notWork = "not a valid gobustest.v1.Work"
	runBadInputs(t, []badInput{
		{"invalid wire type", body("wire-type-7", []byte{0x0f}), "decode", notWork},
		{"field number 0", body("field-0", []byte{0x00, 0x00}), "decode", notWork},
		{"truncated varint", body("truncated-varint", []byte{0x10, 0x80}), "decode", notWork},
		{"length past the end", body("past-the-end", []byte{0x0a, 0x05, 'a', 'b'}), "decode", notWork},
		{"invalid UTF-8 in a string field", body("bad-utf8", utf8), "decode", "invalid UTF-8"},
		{"JSON declared as protobuf", body("json-as-protobuf", []byte(`{"id":"x"}`)), "decode", notWork},
		{"protobuf declared as JSON", jsonBody("protobuf-as-json", string(workBody("x"))), "decode", notWork},
		{"JSON of the wrong shape", jsonBody("json-wrong-shape", `{"id":5}`), "decode", "invalid value for string field id"},
		{"truncated JSON", jsonBody("json-truncated", `{"id":"x"`), "decode", "unexpected EOF"},
	})
}

// Protobuf cannot always tell one type from another: a body that is valid
// protobuf but encodes another type is decoded as the declared type when
// its fields fit. A WorkDone{id} has the very bytes of a Work{id}; fields
// of another wire type or number are kept as unknown fields (that is how
// protobuf stays compatible with newer senders); JSON fields the type
// lacks are ignored (protojson with DiscardUnknown). All are handled as
// Work: ce-type is the contract, and the handler must validate what it
// needs. This test pins that behaviour down rather than hiding it.
func TestBadInputBodyOfAnotherTypeMayDecode(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	type seen struct {
		id      string
		unknown int
	}
	got := make(chan seen, 10)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- seen{id: mc.ID() + "=" + w.GetId(), unknown: len(w.ProtoReflect().GetUnknown())}
			return nil
		}))
	}, gobus.WithConcurrency(1))
	js := c.JetStream()
	ctx := context.Background()
	publish := func(id, contentType string, data []byte) {
		t.Helper()
		if _, err := js.PublishMsg(ctx, rawMessage(subjectOfWork, id, gobustestv1.WorkType, contentType, data)); err != nil {
			t.Fatal(err)
		}
	}
	workDone, err := proto.Marshal(&gobustestv1.WorkDone{Id: "impostor"})
	if err != nil {
		t.Fatal(err)
	}
	var varint []byte // field 1 as a varint: a message whose field 1 is an int64
	varint = protowire.AppendTag(varint, 1, protowire.VarintType)
	varint = protowire.AppendVarint(varint, 42)
	publish("workdone-body", "application/protobuf", workDone)
	publish("int-field", "application/protobuf", varint)
	publish("json-other-fields", "application/json", []byte(`{"orderId":"o-1","total":5}`))

	want := []seen{{"workdone-body=impostor", 0}, {"int-field=", len(varint)}, {"json-other-fields=", 0}}
	for _, w := range want {
		if s := receive(t, got, w.id); s != w {
			t.Errorf("handled %+v, want %+v", s, w)
		}
	}
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
	if n := len(errorStreamMessages(t, c)); n != 0 {
		t.Errorf("%d messages in the error stream, want none", n)
	}
}

// A ce-type the endpoint handles, on a subject that is not that type's,
// is refused as wrong-subject: the subject decides which consumer, stream
// and permissions a message went through, and a type dressed as another
// must not slip past them.
func TestBadInputTypeOnAnotherTypesSubject(t *testing.T) {
	t.Parallel()
	on := func(subject, id, typ string, data []byte) *nats.Msg {
		return rawMessage(subject, id, typ, "application/protobuf", data)
	}
	done, err := proto.Marshal(&gobustestv1.WorkDone{Id: "d"})
	if err != nil {
		t.Fatal(err)
	}
	runBadInputs(t, []badInput{
		{"event on a command's subject", on(subjectOfWork, "event-as-command", gobustestv1.WorkDoneType, done), "wrong-subject",
			"the event gobustest.v1.WorkDone arrived on subject " + subjectOfWork + ", but its subject is " + subjectOfWorkDone},
		{"command on an event's subject", on(subjectOfWorkDone, "command-as-event", gobustestv1.WorkType, workBody("w")), "wrong-subject",
			"the command gobustest.v1.Work arrived on subject " + subjectOfWorkDone + ", but its subject is " + subjectOfWork},
		{"command on another subject of its queue", on("gobus.cmd.worker.gobustest.v1.Other", "other-subject", gobustestv1.WorkType, workBody("w")), "wrong-subject",
			"arrived on subject gobus.cmd.worker.gobustest.v1.Other, but its subject is " + subjectOfWork},
	})
}

// Content types gobus does not read, or that do not match the body, are
// refused as decode errors naming the content type. (An unknown media type
// such as text/xml is in TestPoisonMessagesSkipRetries.)
func TestBadInputContentType(t *testing.T) {
	t.Parallel()
	ct := func(id, contentType string) *nats.Msg {
		return rawMessage(subjectOfWork, id, gobustestv1.WorkType, contentType, workBody(id))
	}
	runBadInputs(t, []badInput{
		{"unparsable content-type", ct("unparsable", "application/protobuf/v2"), "decode", `unsupported content-type "application/protobuf/v2"`},
		// content-type application/cloudevents+json marks structured mode,
		// whatever else the headers say: the body must be a JSON event.
		{"structured-mode content-type", ct("structured", "application/cloudevents+json"), "malformed",
			"content-type is application/cloudevents+json (structured mode), but the body is not a JSON event"},
		{"protobuf text format", ct("prototext", "text/plain"), "decode", `unsupported content-type "text/plain"`},
		{"60 KiB content-type", ct("huge", "application/"+strings.Repeat("x", 60<<10)), "decode", `unsupported content-type "application/xxx`},
	})
}

// Huge headers. JetStream stores a header block of at most 64 KiB
// (65535 bytes), and the server's max payload counts headers too. A
// message with a 60 KiB header value fits; when it is bad, its error copy
// keeps the value, while the failure headers are cut so that the copy
// fits under the same 64 KiB: the error message, which quotes the value,
// gives way.
func TestBadInputHugeHeaders(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 60<<10)
	hugeType := badWork("huge-type")
	hugeType.Header.Set("ce-type", "gobustest.v1."+huge)
	hugeExtension := withHeader(badWork("huge-extension"), "ce-specversion", "2.0")
	hugeExtension.Header.Set("ce-bigextension", huge)
	runBadInputs(t, []badInput{
		{"60 KiB ce-type", hugeType, "unknown-type", `no handler for message type "gobustest.v1.xxx`},
		{"60 KiB ce-specversion", withHeader(badWork("huge-specversion"), "ce-specversion", "1.0"+huge), "malformed", `ce-specversion is "1.0xxx`},
		{"60 KiB ce-time", withHeader(badWork("huge-time"), "ce-time", "2025-06-01T12:00:00Z"+huge), "malformed", "is not an RFC 3339 time"},
		{"60 KiB extension on a bad message", hugeExtension, "malformed", `ce-specversion is "2.0"`},
	})
}

// Headers over 64 KiB are refused at the sender, and nothing is stored:
// by JetStream for a foreign sender, by gobus with ErrTooLarge before
// anything is sent.
func TestHeadersOver64KiBAreRefusedAtTheSender(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ctx := context.Background()
	huge := strings.Repeat("x", 64<<10)
	_, err := c.JetStream().PublishMsg(ctx, withHeader(badWork("foreign"), "ce-bigextension", huge))
	if err == nil || !strings.Contains(err.Error(), "header size exceeds maximum") {
		t.Errorf("foreign publish with a 64 KiB header: %v, want JetStream's refusal", err)
	}
	err = gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "gobus"}, gobus.WithMessageID(huge))
	if !errors.Is(err, gobus.ErrTooLarge) || !strings.Contains(err.Error(), "JetStream stores at most 65535") {
		t.Errorf("gobus send with a 64 KiB message id: %v, want ErrTooLarge naming the header limit", err)
	}
	if n := streamMsgs(t, c, "gobus_queue_worker"); n != 0 {
		t.Errorf("%d messages stored, want none", n)
	}
}

// A valid message with large headers (a 60 KiB extension, a 20 KiB ce-id,
// a thousand extra headers) is handled like any other, and the event its
// handler publishes, which carries the long id as correlation and
// causation id, is stored.
func TestLargeHeadersOnAValidMessageAreHandled(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add(w.GetId())
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	})
	extension := withHeader(badWork("extension"), "ce-bigextension", strings.Repeat("y", 60<<10))
	longID := badWork("long-id")
	longID.Header.Set("ce-id", strings.Repeat("i", 20<<10))
	longID.Header.Set("Nats-Msg-Id", "long-id")
	many := badWork("many-headers")
	for i := range 1000 {
		many.Header.Set(fmt.Sprintf("x-extra-%d", i), strings.Repeat("z", 32))
	}
	for _, m := range []*nats.Msg{extension, longID, many} {
		if _, err := c.JetStream().PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the three messages handled", func() bool { return handled.distinct() == 3 })
	waitFor(t, "three events stored", func() bool { return streamMsgs(t, c, "gobus_events") == 3 })
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
	if n := len(errorStreamMessages(t, c)); n != 0 {
		t.Errorf("%d messages in the error stream, want none", n)
	}
}

// A message close to the server's limits that fails still reaches the
// error stream with its diagnosis: the failure headers would take the
// copy over the max payload, or over JetStream's 64 KiB of headers, so the
// stack and the error message are cut to fit. (Without the cut, storing
// the copy fails on every delivery until the message has been delivered
// too often, and it reaches the error stream as exhausted-deliveries.)
func TestBadInputNearTheLimitsStillReachesErrorStream(t *testing.T) {
	t.Parallel()
	const maxPayload = 32 << 10
	panicking := func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			panic(strings.Repeat("p", 8<<10)) // an 8 KiB panic value, and a stack of a few KiB
		}))
	}
	nearMaxPayload := badWork("near-max-payload")
	nearMaxPayload.Data = workBody(strings.Repeat("b", maxPayload-(1<<10)-400))
	nearHeaderLimit := withHeader(badWork("near-header-limit"), "ce-bigextension", strings.Repeat("h", 60<<10))
	for _, tc := range []struct {
		name       string
		maxPayload int32
		msg        *nats.Msg
	}{
		{"max payload", maxPayload, nearMaxPayload},
		{"64 KiB of headers", 0, nearHeaderLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := natstest.RunServerWith(t, func(o *server.Options) {
				if tc.maxPayload > 0 {
					o.MaxPayload = tc.maxPayload
				}
			})
			c := connect(t, ns.ClientURL())
			startEndpoint(t, c, "worker", panicking)
			if _, err := c.JetStream().PublishMsg(context.Background(), tc.msg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
			copied := errorStreamMessages(t, c)[0]
			checkErrorCopy(t, copied, badInput{msg: tc.msg, kind: "panic", reason: "handler panicked: ppp"})
			if msg := copied.Header.Get("gobus-error-message"); !strings.HasSuffix(msg, "...[truncated]") {
				t.Errorf("gobus-error-message %.100q… was not cut", msg)
			}
			waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
		})
	}
}

// Malformed CloudEvents attributes are refused as malformed, naming the
// attribute and its value.
func TestBadInputMalformedHeaders(t *testing.T) {
	t.Parallel()
	runBadInputs(t, []badInput{
		{"ce-specversion 2.0", withHeader(badWork("spec-2"), "ce-specversion", "2.0"), "malformed", `ce-specversion is "2.0", gobus reads CloudEvents 1.0`},
		{"ce-specversion 0.3", withHeader(badWork("spec-03"), "ce-specversion", "0.3"), "malformed", `ce-specversion is "0.3"`},
		{"ce-time not a time", withHeader(badWork("time-word"), "ce-time", "yesterday"), "malformed", `ce-time "yesterday" is not an RFC 3339 time`},
		{"ce-time without T", withHeader(badWork("time-space"), "ce-time", "2025-06-01 12:00:00Z"), "malformed", `ce-time "2025-06-01 12:00:00Z" is not an RFC 3339 time`},
		{"ce-time without zone", withHeader(badWork("time-zone"), "ce-time", "2025-06-01T12:00:00"), "malformed", `ce-time "2025-06-01T12:00:00" is not an RFC 3339 time`},
		{"ce-time out of range", withHeader(badWork("time-range"), "ce-time", "2025-13-01T12:00:00Z"), "malformed", "is not an RFC 3339 time"},
	})
}
