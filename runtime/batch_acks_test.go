package gobus

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobusdev/gobus/internal/natstest"
)

// Every form of JetStream's answer to a publish reads as what it says:
// the usual ones without a JSON decoder, the rest with one.
func TestReadPubAck(t *testing.T) {
	for _, c := range []struct {
		data      string
		plain     bool // read without a JSON decoder
		duplicate bool
		errCode   jetstream.ErrorCode // 0: no error
		invalid   bool                // ErrInvalidJSAck
	}{
		{data: `{"stream":"gobus_queue_sales","seq":12}`, plain: true},
		{data: `{"stream":"gobus_queue_sales","domain":"hub","seq":12}`, plain: true},
		{data: `{"stream":"gobus_queue_sales","seq":12,"duplicate": true}`, plain: true, duplicate: true},
		{data: `{"stream":"gobus_queue_sales","seq":12,"duplicate":true}`, plain: true, duplicate: true},
		{data: `{"stream":"gobus_queue_sales","seq":12,"duplicate":false}`, plain: true},
		{data: `{"stream":"gobus_queue_sales","seq":12,"duplicate": true,"batch":"b1","count":3}`, plain: true, duplicate: true},
		// A stream named "error" is not an error, only slower to read.
		{data: `{"stream":"error","seq":1}`},
		// Escapes: every quote need not delimit a string.
		{data: `{"stream":"a\"duplicate\": true","seq":1}`},
		{data: `{"stream":"s","seq":1,"note":"\u0022duplicate\u0022: true"}`},
		{data: `{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"s","seq":0}`, errCode: 10077},
		{data: `{"stream":"s","seq":0,"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"}}`, errCode: 10054},
		{data: `{"stream":"","seq":1}`, invalid: true},
		{data: `{"seq":1}`, invalid: true},
		{data: `not json`, invalid: true},
		{data: `{"stream":"s","seq":1,"duplicate":maybe}`},
	} {
		if plain, _ := readPlainPubAck([]byte(c.data)); plain != c.plain {
			t.Errorf("%s: read without a decoder %v, want %v", c.data, plain, c.plain)
		}
		duplicate, err := readPubAck([]byte(c.data))
		var apiErr *jetstream.APIError
		switch {
		case c.invalid:
			if !errors.Is(err, jetstream.ErrInvalidJSAck) {
				t.Errorf("%s: error %v, want %v", c.data, err, jetstream.ErrInvalidJSAck)
			}
		case c.errCode != 0:
			if !errors.As(err, &apiErr) || apiErr.ErrorCode != c.errCode {
				t.Errorf("%s: error %v, want JetStream's error %d", c.data, err, c.errCode)
			}
		case strings.Contains(c.data, "maybe"):
			if err == nil {
				t.Errorf("%s: no error for a duplicate that is neither true nor false", c.data)
			}
		case err != nil:
			t.Errorf("%s: error %v", c.data, err)
		case duplicate != c.duplicate:
			t.Errorf("%s: duplicate %v, want %v", c.data, duplicate, c.duplicate)
		}
	}
}

// batchTestClient connects to a new server, without the installer, and
// returns the client and the subject the test's command goes to.
// silent, if true, has a core NATS subscriber on another connection
// take that subject: the server then answers no "no responders", and the
// subscriber never replies.
func batchTestClient(t *testing.T, silent bool) (*Client, *CommandRoute[*wrapperspb.StringValue], string) {
	t.Helper()
	ctx := context.Background()
	route := NewCommandRoute[*wrapperspb.StringValue]("google.protobuf.StringValue", "silent", "google.protobuf.StringValue")
	c, err := Connect(ctx, WithURL(natstest.RunServer(t).ClientURL()), WithoutInstaller(),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	subject, err := c.subjectFor(route.route)
	if err != nil {
		t.Fatal(err)
	}
	if silent {
		nc, err := nats.Connect(c.nc.ConnectedUrl())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if _, err := nc.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return c, route, subject
}

// A message that something other than a stream receives, and so no
// acknowledgement comes for, fails once the acknowledgement is overdue,
// and frees its place in the window.
func TestBatchFailsAMessageWhoseAcknowledgementIsOverdue(t *testing.T) {
	t.Parallel()
	c, route, _ := batchTestClient(t, true)
	c.batches.timeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := c.NewBatch(1)
	start := time.Now()
	for _, id := range []string{"first", "second"} {
		if err := Send(ctx, b, route, wrapperspb.String(id), WithMessageID(id)); err != nil {
			t.Fatalf("sending %s: %v", id, err)
		}
	}
	results, err := b.Wait(ctx)
	if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("Wait = %v, want %v", err, jetstream.ErrAsyncPublishTimeout)
	}
	if len(results) != 2 || !errors.Is(results[0].Err, jetstream.ErrAsyncPublishTimeout) || !errors.Is(results[1].Err, jetstream.ErrAsyncPublishTimeout) {
		t.Errorf("results %+v, want both timed out", results)
	}
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond {
		t.Errorf("both failed after %v: the second was sent before the first's timeout freed the window of 1", elapsed)
	}
	c.batches.mu.Lock()
	defer c.batches.mu.Unlock()
	if n := len(c.batches.sent); n != 0 {
		t.Errorf("%d messages still in flight", n)
	}
}

// JetStream's refusal of a message reaches its result as JetStream's
// error, and the messages around it are stored.
func TestBatchReportsWhatJetStreamRefused(t *testing.T) {
	t.Parallel()
	c, route, subject := batchTestClient(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "SMALL", Subjects: []string{subject}, MaxMsgSize: 1000, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	b := c.NewBatch(0)
	for _, id := range []string{"small", strings.Repeat("large", 200), "small", "small-2"} {
		if err := Send(ctx, b, route, wrapperspb.String(id), WithMessageID(id[:min(len(id), 7)])); err != nil {
			t.Fatal(err)
		}
	}
	results, err := b.Wait(ctx)
	if !errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		t.Fatalf("Wait = %v, want the large message refused with %v", err, jetstream.ErrStreamMessageExceedsMaximum)
	}
	var apiErr *jetstream.APIError
	switch {
	case len(results) != 4:
		t.Fatalf("%d results for 4 messages", len(results))
	case results[0].Err != nil || results[0].Duplicate:
		t.Errorf("first: %+v, want stored", results[0])
	case !errors.As(results[1].Err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamMessageExceedsMaximum:
		t.Errorf("large: %+v, want JetStream's message-too-large error", results[1])
	case results[2].Err != nil || !results[2].Duplicate:
		t.Errorf("third: %+v, want a duplicate of the first", results[2])
	case results[3].Err != nil || results[3].Duplicate:
		t.Errorf("fourth: %+v, want stored", results[3])
	}
}

// A closed client's batch takes no more messages, and fails those in
// flight.
func TestBatchOfAClosedClient(t *testing.T) {
	t.Parallel()
	c, route, subject := batchTestClient(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := c.NewBatch(0)
	if err := Send(ctx, b, route, wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	results, err := b.Wait(ctx)
	if err == nil || len(results) != 1 || results[0].Err == nil {
		t.Errorf("Wait after Close = %+v, %v: want the message failed", results, err)
	}
	if err := c.batches.publish(b, nats.NewMsg(subject), "y", "t"); err == nil {
		t.Error("a closed client's batch publisher took a message")
	}
}
