package gobus_test

// Messages larger than the server takes fail at the sender with
// ErrTooLarge, saying the size, the limit and the type, and nothing is
// half-sent.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// smallMaxPayload is the max payload of the servers these tests start.
const smallMaxPayload = 8 << 10

// connectSmall connects to a new server whose max payload is
// smallMaxPayload.
func connectSmall(t *testing.T) *gobus.Client {
	t.Helper()
	ns := natstest.RunServerWith(t, func(o *server.Options) { o.MaxPayload = smallMaxPayload })
	// Without claim check, which would send the large bodies by reference.
	return connect(t, ns.ClientURL(), gobus.WithoutClaimCheck())
}

// checkTooLarge checks that err is ErrTooLarge and names the message type
// and the limit.
func checkTooLarge(t *testing.T, err error, typ string) {
	t.Helper()
	if !errors.Is(err, gobus.ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	for _, want := range []string{typ, fmt.Sprintf("max payload is %d bytes", smallMaxPayload), "bytes ("} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A send over the max payload fails with ErrTooLarge before anything is
// sent. Around the limit, gobus's count agrees with the server's: every
// message it lets through is stored, and it refuses every other one
// itself (nats.go would otherwise fail with its own ErrMaxPayload).
func TestSendOverMaxPayloadFailsAtTheSender(t *testing.T) {
	t.Parallel()
	c := connectSmall(t)
	ctx := context.Background()
	err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: strings.Repeat("x", smallMaxPayload)})
	checkTooLarge(t, err, "sending gobustest.v1.Work")
	t.Logf("the error: %v", err)
	if n := streamMsgs(t, c, "gobus_queue_worker"); n != 0 {
		t.Fatalf("%d messages stored, want none", n)
	}

	var stored, refused uint64
	for size := smallMaxPayload - 400; size <= smallMaxPayload; size += 3 {
		err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: strings.Repeat("x", size)})
		switch {
		case err == nil:
			stored++
		case errors.Is(err, gobus.ErrTooLarge):
			refused++
		default:
			t.Fatalf("a Work of %d bytes: %v", size, err)
		}
	}
	if stored == 0 || refused == 0 {
		t.Errorf("%d sends stored, %d refused: the sizes did not straddle the limit", stored, refused)
	}
	if n := streamMsgs(t, c, "gobus_queue_worker"); n != stored {
		t.Errorf("%d messages stored, want %d", n, stored)
	}
}

// A batch refuses a message over the max payload in Dispatch, and goes on
// with the others.
func TestBatchRefusesAMessageOverMaxPayload(t *testing.T) {
	t.Parallel()
	c := connectSmall(t)
	ctx := context.Background()
	b := c.NewBatch(4)
	if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: "before"}); err != nil {
		t.Fatal(err)
	}
	err := gobustestv1.PublishWorkDone(ctx, b, &gobustestv1.WorkDone{Id: strings.Repeat("x", smallMaxPayload)})
	checkTooLarge(t, err, "publishing gobustest.v1.WorkDone")
	if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: "after"}); err != nil {
		t.Fatal(err)
	}
	results, err := b.Wait(ctx)
	if err != nil || len(results) != 2 {
		t.Fatalf("Wait: %d results, %v; want the 2 messages the batch took", len(results), err)
	}
	if n := streamMsgs(t, c, "gobus_queue_worker"); n != 2 {
		t.Errorf("%d commands stored, want 2", n)
	}
	if n := streamMsgs(t, c, "gobus_events"); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
}

// A handler that publishes an event over the max payload fails without
// retries: its message goes to the error stream as too-large, and none of
// its outgoing messages is sent, not even those before the large one. The
// endpoint goes on handling other messages.
func TestHandlerPublishingOverMaxPayloadSendsNothing(t *testing.T) {
	t.Parallel()
	c := connectSmall(t)
	tries := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			tries.add(w.GetId())
			if err := gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()}); err != nil {
				return err
			}
			if w.GetId() == "large" {
				if err := gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: strings.Repeat("x", smallMaxPayload)}); err != nil {
					return err
				}
			}
			return gobustestv1.SendAudit(ctx, mc, &gobustestv1.Audit{Entry: w.GetId()})
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 3, Delayed: 3, Delay: 50 * time.Millisecond, MaxDelay: time.Second}))
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "large"}); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "healthy"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	waitFor(t, "the healthy message's event and audit stored", func() bool {
		return streamMsgs(t, c, "gobus_events") == 1 && streamMsgs(t, c, "gobus_queue_auditor") == 1
	})
	copied := errorStreamMessages(t, c)[0]
	if kind := copied.Header.Get("gobus-error-kind"); kind != "too-large" {
		t.Errorf("gobus-error-kind %q, want too-large", kind)
	}
	msg := copied.Header.Get("gobus-error-message")
	for _, want := range []string{"message too large", "publishing gobustest.v1.WorkDone", fmt.Sprintf("max payload is %d bytes", smallMaxPayload)} {
		if !strings.Contains(msg, want) {
			t.Errorf("gobus-error-message %q does not say %q", msg, want)
		}
	}
	if a := copied.Header.Get("gobus-attempts"); a != "1" || tries.count("large") != 1 {
		t.Errorf("the handler ran %d times (gobus-attempts %s), want once: retrying cannot shrink a message", tries.count("large"), a)
	}
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
	// The one event and the one audit stored are the healthy message's.
	var done gobustestv1.WorkDone
	if m, err := mustStream(t, c, "gobus_events").GetMsg(ctx, 1); err != nil || proto.Unmarshal(m.Data, &done) != nil || done.GetId() != "healthy" {
		t.Errorf("stored event %v (%v), want the healthy message's", &done, err)
	}
	var audit gobustestv1.Audit
	if m, err := mustStream(t, c, "gobus_queue_auditor").GetMsg(ctx, 1); err != nil || proto.Unmarshal(m.Data, &audit) != nil || audit.GetEntry() != "healthy" {
		t.Errorf("stored audit %v (%v), want the healthy message's", &audit, err)
	}
}

// A handler whose outgoing headers exceed what JetStream stores (the
// incoming ce-id, carried on as correlation and causation id, is 40 KiB)
// fails as too-large too, naming the header limit.
func TestHandlerOutgoingHeadersOverTheLimit(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	})
	in := rawMessage("gobus.cmd.worker.gobustest.v1.Work", "long-id", gobustestv1.WorkType, "application/protobuf", workBody("w"))
	in.Header.Set("ce-id", strings.Repeat("i", 40<<10))
	if _, err := c.JetStream().PublishMsg(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	copied := errorStreamMessages(t, c)[0]
	if kind, msg := copied.Header.Get("gobus-error-kind"), copied.Header.Get("gobus-error-message"); kind != "too-large" || !strings.Contains(msg, "JetStream stores at most 65535") {
		t.Errorf("kind %q, message %q; want too-large naming the header limit", kind, msg)
	}
	if n := streamMsgs(t, c, "gobus_events"); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
}
