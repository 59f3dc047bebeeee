package gobus_test

// Interoperability with the real CloudEvents Go SDK over its NATS JetStream
// protocol binding (github.com/cloudevents/sdk-go/protocol/nats_jetstream),
// untouched: what it sends, in binary and structured mode, a gobus
// endpoint handles; what gobus publishes, it reads.

import (
	"bytes"
	"context"
	"testing"
	"time"

	cejetstream "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// sdkConn is a plain NATS connection for the SDK, closed at the end of the
// test.
func sdkConn(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// sdkSender is a CloudEvents client that sends to subject on stream, which
// gobus created.
func sdkSender(t *testing.T, url, stream, subject string) cloudevents.Client {
	t.Helper()
	sender, err := cejetstream.NewSenderFromConn(sdkConn(t, url), stream, subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// sdkWork is a CloudEvent carrying a Work with the given content type:
// protojson for application/json, protobuf binary otherwise.
func sdkWork(t *testing.T, id, contentType string) cloudevents.Event {
	t.Helper()
	w := &gobustestv1.Work{Id: id}
	var data []byte
	var err error
	if contentType == cloudevents.ApplicationJSON {
		data, err = protojson.Marshal(w)
	} else {
		data, err = proto.Marshal(w)
	}
	if err != nil {
		t.Fatal(err)
	}
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(gobustestv1.WorkType)
	e.SetSource("cloudevents-sdk-go")
	e.SetTime(time.Now())
	e.SetExtension("correlationid", "conv-"+id)
	if err := e.SetData(contentType, data); err != nil {
		t.Fatal(err)
	}
	return e
}

// sdkHandled is what the worker's handler saw of one command.
type sdkHandled struct{ id, workID, source, correlation string }

// startSDKWorker starts an endpoint "worker" that reports what it handles.
func startSDKWorker(t *testing.T, c *gobus.Client) <-chan sdkHandled {
	t.Helper()
	got := make(chan sdkHandled, 8)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- sdkHandled{mc.ID(), w.GetId(), mc.Source(), mc.CorrelationID()}
			return nil
		}))
	})
	return got
}

// sendAndExpectHandled sends each event with the SDK, in the encoding
// ctx asks for, and checks that the worker handled each once, as sent.
func sendAndExpectHandled(ctx context.Context, t *testing.T, c *gobus.Client, url string, events ...cloudevents.Event) {
	t.Helper()
	got := startSDKWorker(t, c)
	sdk := sdkSender(t, url, "gobus_queue_worker", subjectOfWork)
	want := map[string]sdkHandled{}
	for _, e := range events {
		if res := sdk.Send(ctx, e); !cloudevents.IsACK(res) {
			t.Fatalf("the SDK's send of %s: %v", e.ID(), res)
		}
		want[e.ID()] = sdkHandled{e.ID(), e.ID(), "cloudevents-sdk-go", "conv-" + e.ID()}
	}
	for range events {
		h := receive(t, got, "a command the SDK sent")
		if h != want[h.id] {
			t.Errorf("handled %+v, want %+v", h, want[h.id])
		}
		delete(want, h.id)
	}
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
	if n := len(errorStreamMessages(t, c)); n != 0 {
		t.Errorf("%d messages in the error stream, want none: %v", n, errorStreamMessages(t, c)[0].Header)
	}
}

// The SDK, in its default binary mode, writes datacontenttype as
// ce-datacontenttype: a JSON command and a protobuf command both decode.
func TestCloudEventsSDKSendsCommandsInBinaryMode(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	c := connect(t, url)
	sendAndExpectHandled(context.Background(), t, c, url,
		sdkWork(t, "sdk-json", cloudevents.ApplicationJSON),
		sdkWork(t, "sdk-protobuf", "application/protobuf"))
}

// The SDK in structured mode writes the JSON event format as the body
// (JSON data as "data", protobuf as "data_base64") and no headers at all,
// as version 1.0.2 of the binding had it: gobus reads both.
func TestCloudEventsSDKSendsCommandsInStructuredMode(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	c := connect(t, url)
	sendAndExpectHandled(cloudevents.WithEncodingStructured(context.Background()), t, c, url,
		sdkWork(t, "sdk-structured-json", cloudevents.ApplicationJSON),
		sdkWork(t, "sdk-structured-protobuf", "application/protobuf"))
}

// An event gobus publishes is a valid CloudEvent to the SDK, with
// datacontenttype application/protobuf and gobus's extensions, and its
// data decodes as the event type.
func TestCloudEventsSDKReceivesPublishedEvent(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	c := connect(t, url, gobus.WithSource("publisher"))
	ctx := context.Background()
	if err := gobustestv1.PublishWorkDone(ctx, c, &gobustestv1.WorkDone{Id: "done-1"}, gobus.WithMessageID("event-1")); err != nil {
		t.Fatal(err)
	}
	e := receiveWithSDK(t, url, "gobus_events", "gobus.evt.gobustest.v1.WorkDone")
	if err := e.Validate(); err != nil {
		t.Errorf("the SDK finds the event invalid: %v", err)
	}
	if e.ID() != "event-1" || e.Type() != gobustestv1.WorkDoneType || e.Source() != "publisher" || e.SpecVersion() != "1.0" {
		t.Errorf("event context %s", e.Context)
	}
	if ct := e.DataContentType(); ct != "application/protobuf" {
		t.Errorf("datacontenttype %q, want application/protobuf", ct)
	}
	if intent := e.Extensions()["gobusintent"]; intent != "publish" {
		t.Errorf("extension gobusintent %v, want publish", intent)
	}
	var done gobustestv1.WorkDone
	if err := proto.Unmarshal(e.Data(), &done); err != nil || done.GetId() != "done-1" {
		t.Errorf("data %x decodes to %v (%v), want WorkDone done-1", e.Data(), &done, err)
	}
}

// receiveWithSDK receives one event with the SDK's JetStream consumer on
// subject of stream, from the start of the stream.
func receiveWithSDK(t *testing.T, url, stream, subject string) cloudevents.Event {
	t.Helper()
	consumer, err := cejetstream.NewConsumerFromConn(sdkConn(t, url), stream, subject, nil, []nats.SubOpt{nats.DeliverAll()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(consumer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan cloudevents.Event, 1)
	stopped := make(chan error, 1)
	go func() {
		stopped <- client.StartReceiver(ctx, func(e cloudevents.Event) {
			select {
			case events <- e:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	return receive(t, events, "the event, with the SDK")
}

// The SDK sets no Nats-Msg-Id, so JetStream cannot tell a re-send from a
// new message: the same event sent twice is stored twice. A sender that
// adds the one line docs/wire.md shows (Nats-Msg-Id = ce-id) is stored
// once.
func TestCloudEventsSDKResendsNeedNatsMsgID(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	c := connect(t, url)
	ctx := context.Background()
	sdk := sdkSender(t, url, "gobus_queue_worker", subjectOfWork)
	e := sdkWork(t, "resent", "application/protobuf")
	for range 2 {
		if res := sdk.Send(ctx, e); !cloudevents.IsACK(res) {
			t.Fatal(res)
		}
	}
	if n := streamMsgs(t, c, "gobus_queue_worker"); n != 2 {
		t.Errorf("the SDK's two sends stored %d messages; docs/wire.md says 2", n)
	}

	js, err := sdkConn(t, url).JetStream()
	if err != nil {
		t.Fatal(err)
	}
	e.SetID("resent-with-msg-id")
	for range 2 {
		var body bytes.Buffer
		header, err := cejetstream.WriteMsg(ctx, cloudevents.ToMessage(&e), &body)
		if err != nil {
			t.Fatal(err)
		}
		header.Set("Nats-Msg-Id", header.Get("ce-id")) // the one line
		if _, err := js.PublishMsg(&nats.Msg{Subject: subjectOfWork, Header: header, Data: body.Bytes()}); err != nil {
			t.Fatal(err)
		}
	}
	if n := streamMsgs(t, c, "gobus_queue_worker"); n != 3 {
		t.Errorf("stream holds %d messages, want 3: the sends with Nats-Msg-Id stored once", n)
	}
}
