package gobus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
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
		"ce-specversion":   "1.0",
		"ce-id":            "id-7",
		"Nats-Msg-Id":      "id-7",
		"ce-type":          "gobustest.v1.Work",
		"ce-source":        "test-client",
		"content-type":     "application/protobuf",
		"ce-correlationid": "", // left out: a message without one starts its own conversation
		"ce-gobusintent":   "send",
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
