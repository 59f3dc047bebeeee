package gobus_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// quoter answers Quote commands: Refused for the item "none", Quoted
// otherwise, after the delay the command asks for.
type quoter struct {
	gobustestv1.UnimplementedQuoterHandler
}

func (quoter) HandleQuote(ctx context.Context, mc *gobus.MessageContext, q *gobustestv1.Quote) error {
	if q.DelayMs > 0 {
		select {
		case <-time.After(time.Duration(q.DelayMs) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if q.Item == "none" {
		return gobustestv1.ReplyRefused(ctx, mc, &gobustestv1.Refused{Reason: "no price for none"})
	}
	return gobustestv1.ReplyQuoted(ctx, mc, &gobustestv1.Quoted{Item: q.Item, Cents: int64(len(q.Item)) * 100})
}

// bufferLogger is a debug logger writing to buf.
func bufferLogger(buf *natstest.LockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestRequestReturnsTheReply(t *testing.T) {
	c := connect(t, newServerURL(t))
	startEndpoint(t, c, "quoter", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterQuoterHandler(ep, quoter{}) })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	got, err := gobustestv1.RequestQuote(ctx, c, &gobustestv1.Quote{Item: "book"})
	if err != nil {
		t.Fatalf("RequestQuote: %v", err)
	}
	if got.Quoted == nil || got.Quoted.Cents != 400 || got.Refused != nil {
		t.Fatalf("reply %+v, want Quoted{book, 400}", got)
	}
	got, err = gobustestv1.RequestQuote(ctx, c, &gobustestv1.Quote{Item: "none"})
	if err != nil {
		t.Fatalf("RequestQuote(none): %v", err)
	}
	if got.Refused == nil || got.Quoted != nil {
		t.Fatalf("reply %+v, want Refused", got)
	}
}

// A request whose context ends first returns its error; the reply that
// comes later is dropped with a debug log, and nothing stays in a stream.
func TestRequestTimeoutLeavesNothingBehind(t *testing.T) {
	var logs natstest.LockedBuffer
	c := connect(t, newServerURL(t), gobus.WithLogger(bufferLogger(&logs)))
	startEndpoint(t, c, "quoter", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterQuoterHandler(ep, quoter{}) })

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := gobustestv1.RequestQuote(ctx, c, &gobustestv1.Quote{Item: "slow", DelayMs: 1200})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RequestQuote = %v, want context.DeadlineExceeded", err)
	}
	waitFor(t, "the late reply to be dropped", func() bool {
		return strings.Contains(logs.String(), "dropped a reply that came after its request gave up")
	})
	waitFor(t, "the quoter's queue to be empty", func() bool { return streamMsgs(t, c, "gobus_queue_quoter") == 0 })
	if n := streamMsgs(t, c, "gobus_events"); n != 0 {
		t.Errorf("the events stream holds %d messages", n)
	}
}

// A reply to an endpoint that has no queue is dropped with a reason, and
// the command it answers is not retried for it.
func TestReplyToUnknownRequesterIsDropped(t *testing.T) {
	var logs natstest.LockedBuffer
	c := connect(t, newServerURL(t), gobus.WithLogger(bufferLogger(&logs)))
	startEndpoint(t, c, "quoter", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterQuoterHandler(ep, quoter{}) })
	ctx := context.Background()
	if err := gobustestv1.SendQuote(ctx, c, &gobustestv1.Quote{Item: "book"}, gobus.WithReplyTo("nobody")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply to be dropped", func() bool {
		return strings.Contains(logs.String(), "dropped a reply: its requester is unknown") &&
			strings.Contains(logs.String(), "no stream takes gobus.reply.nobody")
	})
	waitFor(t, "the quoter's queue to be empty", func() bool { return streamMsgs(t, c, "gobus_queue_quoter") == 0 })
	if strings.Contains(logs.String(), "handler failed") {
		t.Errorf("the handler failed for the reply:\n%s", logs.String())
	}
}

// askerReplies records the replies to the Quote commands the asker sent.
type askerReplies struct {
	gobustestv1.UnimplementedQuoteReplyHandler
	got chan string
}

func (a askerReplies) HandleQuotedReply(_ context.Context, mc *gobus.MessageContext, r *gobustestv1.Quoted) error {
	a.got <- r.Item + " from " + mc.Source()
	return nil
}

// askerTicks sends a Quote for every Tick, from the handler: the asker
// handles the replies, so the Quote asks for them in its queue.
type askerTicks struct{}

func (askerTicks) HandleTick(ctx context.Context, mc *gobus.MessageContext, t *gobustestv1.Tick) error {
	return gobustestv1.SendQuote(ctx, mc, &gobustestv1.Quote{Item: t.Id})
}

// A durable reply waits in the asker's queue while the asker is down, and
// is handled when it starts again.
func TestDurableReplyAfterRequesterRestarts(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	replies := askerReplies{got: make(chan string, 4)}
	register := func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterTickerHandler(ep, askerTicks{}); err != nil {
			return err
		}
		return gobustestv1.RegisterQuoteReplyHandler(ep, replies)
	}
	// The asker's name is the ticker endpoint's, which Tick is routed to.
	asker := startEndpoint(t, c, "ticker", register)
	ctx := context.Background()
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "pen"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Quote to wait in the quoter's queue", func() bool { return streamMsgs(t, c, "gobus_queue_quoter") == 1 })
	stopCtx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := asker.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}

	q := connect(t, url)
	startEndpoint(t, q, "quoter", func(ep *gobus.Endpoint) error { return gobustestv1.RegisterQuoterHandler(ep, quoter{}) })
	waitFor(t, "the reply to wait in the asker's queue", func() bool { return streamMsgs(t, c, "gobus_queue_ticker") == 1 })
	select {
	case r := <-replies.got:
		t.Fatalf("reply %q handled while the asker was down", r)
	default:
	}

	again := connect(t, url)
	startEndpoint(t, again, "ticker", register)
	if got := receive(t, replies.got, "the durable reply"); got != "pen from quoter" {
		t.Fatalf("reply %q, want %q", got, "pen from quoter")
	}
}

// A handler that answers a command with a reply the command does not
// declare fails without retries: no retry can fix the contract.
func TestReplyNotDeclaredFailsForGood(t *testing.T) {
	c := connect(t, newServerURL(t))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return gobustestv1.ReplyQuoted(ctx, mc, &gobustestv1.Quoted{Item: w.Id})
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Work in the error stream", func() bool { return streamMsgs(t, c, "gobus_errors") == 1 })
	msg, err := c.JetStream().Stream(context.Background(), "gobus_errors")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if kind, text := raw.Header.Get("gobus-error-kind"), raw.Header.Get("gobus-error-message"); kind != "unrecoverable" || !strings.Contains(text, "does not declare reply gobustest.v1.Quoted") {
		t.Fatalf("moved as %q: %s", kind, text)
	}
}
