package gobus_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/wire"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A sent command is stored with the CloudEvents binary-mode headers of
// docs/wire.md and a protobuf body.
func TestSentMessageCarriesCloudEventsHeaders(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t), gobus.WithSource("test-client"))
	ctx := context.Background()
	before := time.Now()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w-7"}, gobus.WithMessageID("id-7")); err != nil {
		t.Fatal(err)
	}
	stream, err := c.JetStream().Stream(ctx, "gobus_queue_worker")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := stream.GetLastMsgForSubject(ctx, "gobus.cmd.worker.gobustest.v1.Work")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          "id-7",
		"Nats-Msg-Id":    "id-7",
		"ce-type":        "gobustest.v1.Work",
		"ce-source":      "test-client",
		// The NATS binding's binary mode: datacontenttype is a ce- header;
		// content-type would mark structured mode.
		"ce-datacontenttype": "application/protobuf",
		"content-type":       "",
		"ce-correlationid":   "", // left out: a message without one starts its own conversation
		"ce-gobusintent":     "send",
	}
	for k, v := range want {
		if got := raw.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	sent, err := time.Parse(time.RFC3339Nano, raw.Header.Get("ce-time"))
	if err != nil || sent.Before(before.Add(-time.Second)) || sent.After(time.Now().Add(time.Second)) {
		t.Errorf("ce-time %q is not the RFC 3339 time of sending (%v)", raw.Header.Get("ce-time"), err)
	}
	var body gobustestv1.Work
	if err := proto.Unmarshal(raw.Data, &body); err != nil || body.GetId() != "w-7" {
		t.Errorf("body %x does not decode to the sent Work: %v", raw.Data, err)
	}
}

// Sending twice with one message id stores the message once.
func TestSameMessageIDIsStoredOnce(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ctx := context.Background()
	for range 2 {
		if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w"}, gobus.WithMessageID("order-1")); err != nil {
			t.Fatal(err)
		}
	}
	info, err := mustStream(t, c, "gobus_queue_worker").Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}
}

// A handler that runs twice for one incoming message (a redelivery after
// its outgoing batch was stored) publishes the same ids, even when it
// sends in another order, so the events stream keeps one copy of each.
func TestRedeliveredHandlerPublishesNoDuplicates(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ctx := context.Background()
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			ids := []string{"a", "b", "a"} // two equal events are two events
			if handled.count(mc.ID()) == 1 {
				ids = []string{"b", "a", "a"} // the retry sends in another order
			}
			for _, id := range ids {
				if err := gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: id}); err != nil {
					return err
				}
			}
			handled.add(mc.ID())
			return nil
		}))
	}, gobus.WithConcurrency(1))
	// The same logical message (one ce-id) stored twice, as a redelivery
	// would present it.
	data, _ := proto.Marshal(&gobustestv1.Work{Id: "w"})
	for i, streamID := range []string{"copy-1", "copy-2"} {
		msg := rawMessage("gobus.cmd.worker.gobustest.v1.Work", "logical-1", "gobustest.v1.Work", "application/protobuf", data)
		msg.Header.Set("Nats-Msg-Id", streamID)
		if _, err := c.JetStream().PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publishing copy %d: %v", i, err)
		}
	}
	waitFor(t, "both copies handled", func() bool { return handled.count("logical-1") == 2 })
	info, err := mustStream(t, c, "gobus_events").Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("events stream holds %d WorkDone events, want 3", info.State.Msgs)
	}
}

// Another language may send a protojson body with content-type
// application/json, with parameters and capitalised header names, as
// HTTP-minded SDKs and gateways do.
func TestJSONBodyIsAccepted(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	got := make(chan string, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- w.GetId()
			return nil
		}))
	})
	data, _ := protojson.Marshal(&gobustestv1.Work{Id: "from-python"})
	msg := rawMessage("gobus.cmd.worker.gobustest.v1.Work", "json-1", "gobustest.v1.Work", "application/json", data)
	delete(msg.Header, "content-type")
	msg.Header["Content-Type"] = []string{"application/json; charset=utf-8"}
	msg.Header["Ce-Type"] = msg.Header["ce-type"]
	delete(msg.Header, "ce-type")
	if _, err := c.JetStream().PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if id := receive(t, got, "the JSON command"); id != "from-python" {
		t.Errorf("decoded id %q", id)
	}
}

// A subject override in the contract puts the command on that subject.
func TestSubjectOverride(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	got := make(chan string, 1)
	startEndpoint(t, c, "auditor", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterAuditorHandler(ep, auditFunc(func(ctx context.Context, mc *gobus.MessageContext, a *gobustestv1.Audit) error {
			got <- mc.Subject() + " " + a.GetEntry()
			return nil
		}))
	})
	if err := gobustestv1.SendAudit(context.Background(), c, &gobustestv1.Audit{Entry: "e"}); err != nil {
		t.Fatal(err)
	}
	if s := receive(t, got, "the audit command"); s != "gobus.cmd.auditor.audit.record e" {
		t.Errorf("got %q", s)
	}
}

// A prefix keeps environments apart on one server.
func TestPrefixSeparatesEnvironments(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	staging := connect(t, url, gobus.WithPrefix("staging"))
	prod := connect(t, url, gobus.WithPrefix("prod"))
	stagingGot, prodGot := make(chan string, 2), make(chan string, 2)
	for _, env := range []struct {
		c   *gobus.Client
		got chan string
	}{{staging, stagingGot}, {prod, prodGot}} {
		startEndpoint(t, env.c, "worker", func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
				env.got <- mc.Subject()
				return nil
			}))
		})
	}
	if err := gobustestv1.SendWork(context.Background(), staging, &gobustestv1.Work{}); err != nil {
		t.Fatal(err)
	}
	if s := receive(t, stagingGot, "the staging command"); s != "staging.cmd.worker.gobustest.v1.Work" {
		t.Errorf("staging command on %q", s)
	}
	if err := gobustestv1.SendWork(context.Background(), prod, &gobustestv1.Work{}); err != nil {
		t.Fatal(err)
	}
	if s := receive(t, prodGot, "the prod command"); s != "prod.cmd.worker.gobustest.v1.Work" {
		t.Errorf("prod command on %q", s)
	}
	select {
	case s := <-stagingGot:
		t.Errorf("staging handled a prod command on %q", s)
	default:
	}
}

func rawMessage(subject, id, typ, contentType string, data []byte) *nats.Msg {
	msg := nats.NewMsg(subject)
	msg.Header.Set("ce-specversion", "1.0")
	msg.Header.Set("ce-id", id)
	msg.Header.Set("Nats-Msg-Id", id)
	msg.Header.Set("ce-type", typ)
	msg.Header.Set("ce-source", "another-language")
	msg.Header.Set("content-type", contentType)
	msg.Data = data
	return msg
}

func mustStream(t *testing.T, c *gobus.Client, name string) jetstream.Stream {
	t.Helper()
	s, err := c.JetStream().Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// auditFunc adapts a function to the generated AuditorHandler interface.
type auditFunc func(ctx context.Context, mc *gobus.MessageContext, a *gobustestv1.Audit) error

func (f auditFunc) HandleAudit(ctx context.Context, mc *gobus.MessageContext, a *gobustestv1.Audit) error {
	return f(ctx, mc, a)
}

// isPrintableASCII reports whether every byte of s is printable ASCII
// (space included), as NATS header values must be.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// CloudEvents attributes are percent-encoded in headers, as the NATS
// binding says, and decoded on receipt: a correlation id with spaces,
// non-ASCII and '%' is stored encoded, reaches the handler as it was
// given, and is carried on, encoded again, to what the handler publishes;
// a foreign sender's encoded or quoted values are decoded.
func TestAttributesArePercentEncodedAndDecoded(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	type seen struct{ id, source, correlation string }
	got := make(chan seen, 2)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- seen{mc.ID(), mc.Source(), mc.CorrelationID()}
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	})
	ctx := context.Background()
	const correlation, encoded = "order 42 — Zürich 100%", "order%2042%20%E2%80%94%20Z%C3%BCrich%20100%25"
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w"}, gobus.WithCorrelationID(correlation)); err != nil {
		t.Fatal(err)
	}
	if s := receive(t, got, "the command"); s.correlation != correlation {
		t.Errorf("handler saw correlation id %q, want %q", s.correlation, correlation)
	}
	waitFor(t, "the event stored", func() bool { return streamMsgs(t, c, "gobus_events") == 1 })
	event, err := mustStream(t, c, "gobus_events").GetLastMsgForSubject(ctx, "gobus.evt.gobustest.v1.WorkDone")
	if err != nil {
		t.Fatal(err)
	}
	if v := event.Header.Get("ce-correlationid"); v != encoded {
		t.Errorf("published ce-correlationid %q, want %q", v, encoded)
	}
	for k, vs := range event.Header {
		if !isPrintableASCII(k) || !isPrintableASCII(vs[0]) {
			t.Errorf("header %q: %q is not printable ASCII", k, vs[0])
		}
	}

	foreign := rawMessage(subjectOfWork, "x", gobustestv1.WorkType, "application/protobuf", workBody("f"))
	foreign.Header.Set("ce-id", `"quoted id"`)
	foreign.Header.Set("Nats-Msg-Id", "foreign-1")
	foreign.Header.Set("ce-source", "caf%c3%a9%20app")
	if _, err := c.JetStream().PublishMsg(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if s := receive(t, got, "the foreign command"); s.id != "quoted id" || s.source != "café app" {
		t.Errorf("handler saw id %q, source %q; want %q, %q", s.id, s.source, "quoted id", "café app")
	}
}

// gobus's own failure headers are printable ASCII too: an error text with
// U+00A0 and 'ü' (protobuf-go's errors put U+00A0 in some of theirs) is
// percent-encoded in gobus-error-message, and wire.UnescapeHeaderValue
// gives it back.
func TestFailureHeadersArePrintableASCII(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	const text = "kaputt:\u00a0Grüße, 100%"
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return gobus.Unrecoverable(errors.New(text))
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	copied := errorStreamMessages(t, c)[0]
	for k, vs := range copied.Header {
		if !isPrintableASCII(vs[0]) {
			t.Errorf("failure copy header %s = %q is not printable ASCII", k, vs[0])
		}
	}
	msg := copied.Header.Get("gobus-error-message")
	if want := "unrecoverable: kaputt:%C2%A0Gr%C3%BC%C3%9Fe, 100%25"; msg != want {
		t.Errorf("gobus-error-message %q, want %q", msg, want)
	}
	if back := wire.UnescapeHeaderValue(msg); back != "unrecoverable: "+text {
		t.Errorf("unescaped %q, want %q", back, text)
	}
}

// A body that does not decode says which content type it was decoded as,
// and why: ce-datacontenttype, the content-type header in its absence, or
// neither (protobuf).
func TestDecodeErrorSaysWhichContentTypeWasAssumed(t *testing.T) {
	t.Parallel()
	noType := rawMessage(subjectOfWork, "no-type", gobustestv1.WorkType, "", []byte(`{"id":"x"}`))
	delete(noType.Header, "content-type")
	attribute := rawMessage(subjectOfWork, "attribute", gobustestv1.WorkType, "", []byte(`{"id":5}`))
	delete(attribute.Header, "content-type")
	attribute.Header.Set("ce-datacontenttype", "application/json")
	header := rawMessage(subjectOfWork, "header", gobustestv1.WorkType, "application/json", []byte(`{"id":5}`))
	unsupported := rawMessage(subjectOfWork, "unsupported", gobustestv1.WorkType, "", workBody("u"))
	delete(unsupported.Header, "content-type")
	unsupported.Header.Set("ce-datacontenttype", "text/xml")
	runBadInputs(t, []badInput{
		{"no content type", noType, "decode", "decoded as application/protobuf because no ce-datacontenttype was given"},
		{"ce-datacontenttype", attribute, "decode", "decoded as application/json as ce-datacontenttype says"},
		{"content-type", header, "decode", "decoded as application/json from the content-type header, as no ce-datacontenttype was given"},
		{"unsupported", unsupported, "decode", `unsupported content-type "text/xml" (as ce-datacontenttype says)`},
	})
}

// A structured-mode event (content-type application/cloudevents+json, the
// JSON event format in the body) is handled as its binary-mode twin would
// be: JSON data, or protobuf in data_base64, with its attributes as the
// message context.
func TestStructuredModeIsHandled(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	type seen struct{ id, source, correlation, work string }
	got := make(chan seen, 2)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- seen{mc.ID(), mc.Source(), mc.CorrelationID(), w.GetId()}
			return nil
		}))
	})
	jsonEvent := nats.NewMsg(subjectOfWork)
	jsonEvent.Header.Set("content-type", "application/cloudevents+json; charset=utf-8")
	jsonEvent.Header.Set("Nats-Msg-Id", "s-json")
	jsonEvent.Data = []byte(`{"specversion":"1.0","id":"s-json","type":"gobustest.v1.Work","source":"structured-sender",
		"correlationid":"conv-1","datacontenttype":"application/json","data":{"id":"from-json"}}`)
	pbEvent := nats.NewMsg(subjectOfWork)
	pbEvent.Header.Set("content-type", "application/cloudevents+json")
	pbEvent.Header.Set("Nats-Msg-Id", "s-pb")
	pbEvent.Data = []byte(`{"specversion":"1.0","id":"s-pb","type":"gobustest.v1.Work","source":"structured-sender",
		"datacontenttype":"application/protobuf","data_base64":"` + base64.StdEncoding.EncodeToString(workBody("from-protobuf")) + `"}`)
	ctx := context.Background()
	for _, m := range []*nats.Msg{jsonEvent, pbEvent} {
		if _, err := c.JetStream().PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]seen{
		"s-json": {"s-json", "structured-sender", "conv-1", "from-json"},
		"s-pb":   {"s-pb", "structured-sender", "s-pb", "from-protobuf"},
	}
	for range want {
		s := receive(t, got, "a structured event")
		if s != want[s.id] {
			t.Errorf("handled %+v, want %+v", s, want[s.id])
		}
	}
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
	if n := len(errorStreamMessages(t, c)); n != 0 {
		t.Errorf("%d messages in the error stream, want none", n)
	}
}

// A malformed structured event goes to the error stream as malformed, with
// the reason; one whose data does not decode as its type is a decode
// error naming the structured event's datacontenttype.
func TestStructuredModeRefusals(t *testing.T) {
	t.Parallel()
	structured := func(body string) *nats.Msg {
		m := nats.NewMsg(subjectOfWork)
		m.Header.Set("content-type", "application/cloudevents+json")
		m.Data = []byte(body)
		return m
	}
	const head = `"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk"`
	runBadInputs(t, []badInput{
		{"not JSON", structured("\x0a\x01x"), "malformed", "content-type is application/cloudevents+json (structured mode), but the body is not a JSON event"},
		{"missing id", structured(`{"specversion":"1.0","type":"gobustest.v1.Work","source":"sdk"}`), "malformed", "missing structured-event attribute id"},
		{"data and data_base64", structured(`{` + head + `,"data":{},"data_base64":"AA=="}`), "malformed", "both data and data_base64"},
		{"another event format", withHeader(structured(`{}`), "content-type", "application/cloudevents+avro"), "malformed", "event format gobus does not read"},
		{"data of the wrong shape", structured(`{` + head + `,"data":{"id":5}}`), "decode",
			"decoded as application/json because the structured event's data is JSON and it has no datacontenttype"},
	})
}
