package gobus_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/wire"
	gobus "github.com/gobusdev/gobus/runtime"
)

// archiveFunc adapts a function to the generated ArchiveHandler.
type archiveFunc func(ctx context.Context, mc *gobus.MessageContext, s *gobustestv1.Store) error

func (f archiveFunc) HandleStore(ctx context.Context, mc *gobus.MessageContext, s *gobustestv1.Store) error {
	return f(ctx, mc, s)
}

// storedFunc adapts a function to the generated StoredHandler.
type storedFunc func(ctx context.Context, mc *gobus.MessageContext, s *gobustestv1.Stored) error

func (f storedFunc) HandleStored(ctx context.Context, mc *gobus.MessageContext, s *gobustestv1.Stored) error {
	return f(ctx, mc, s)
}

// TestClaimCheckLargeCommand sends a 20 MB command, twenty times the
// server's max payload, end to end: it travels as a reference with no
// body, the handler receives every byte, the event it publishes with the
// blob reaches two subscribers, and the command's body is removed from
// the claims bucket once handled while the event's stays for the other
// subscribers.
func TestClaimCheckLargeCommand(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	blob := make([]byte, 20<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	wireCopy, err := nc.SubscribeSync("gobus.cmd.archive.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	handled := make(chan []byte, 1)
	startEndpoint(t, c, "archive", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterArchiveHandler(ep, archiveFunc(func(ctx context.Context, mc *gobus.MessageContext, s *gobustestv1.Store) error {
			handled <- s.GetData()
			return gobustestv1.PublishStored(ctx, mc, &gobustestv1.Stored{Id: s.GetId(), Data: s.GetData()})
		}))
	})
	var mu sync.Mutex
	got := map[string]int{}
	for _, name := range []string{"mirror-a", "mirror-b"} {
		startEndpoint(t, c, name, func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterStoredHandler(ep, storedFunc(func(_ context.Context, _ *gobus.MessageContext, s *gobustestv1.Stored) error {
				mu.Lock()
				defer mu.Unlock()
				if bytes.Equal(s.GetData(), blob) {
					got[name]++
				}
				return nil
			}))
		})
	}

	ctx := context.Background()
	if err := gobustestv1.SendStore(ctx, c, &gobustestv1.Store{Id: "big", Data: blob}); err != nil {
		t.Fatalf("SendStore of 20 MB: %v", err)
	}
	msg, err := wireCopy.NextMsg(waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	ref := msg.Header.Get("ce-dataref")
	if len(msg.Data) != 0 || !strings.HasPrefix(ref, "gobus_claims/") || msg.Header.Get("ce-gobusdatasize") == "" || !strings.HasPrefix(msg.Header.Get("ce-gobusdatadigest"), "SHA-256=") {
		t.Fatalf("the command went with %d bytes of body and headers %v, want no body and a claim reference", len(msg.Data), msg.Header)
	}
	if data := receive(t, handled, "the 20 MB command"); !bytes.Equal(data, blob) {
		t.Fatalf("the handler received %d bytes that differ from the 20 MB sent", len(data))
	}
	// 60 MB fetched and 20 MB stored again take a while under -race on a
	// loaded machine: a longer deadline than waitFor's.
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		done := got["mirror-a"] == 1 && got["mirror-b"] == 1
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for both subscribers to receive the 20 MB event: %v", got)
		}
	}
	obs, err := c.JetStream().ObjectStore(ctx, "gobus_claims")
	if err != nil {
		t.Fatal(err)
	}
	object := strings.TrimPrefix(ref, "gobus_claims/")
	waitFor(t, "the handled command's body to be removed", func() bool {
		_, err := obs.GetInfo(ctx, object)
		return errors.Is(err, jetstream.ErrObjectNotFound)
	})
	if objects, err := obs.List(ctx); err != nil || len(objects) != 1 {
		t.Errorf("the claims bucket holds %d objects (%v), want the event's one", len(objects), err)
	}
	if info, err := obs.Status(ctx); err != nil || info.TTL() != 7*24*time.Hour {
		t.Errorf("claims bucket TTL %v (%v), want the events' max age, 7 days", info.TTL(), err)
	}
}

// TestClaimCheckMissingObject checks that a message whose reference
// cannot be followed, because its object is gone or it names another
// bucket, moves to the error stream at once, saying why.
func TestClaimCheckMissingObject(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	startEndpoint(t, c, "archive", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterArchiveHandler(ep, archiveFunc(func(_ context.Context, _ *gobus.MessageContext, s *gobustestv1.Store) error {
			if s.GetId() != "warm-up" {
				t.Errorf("the handler ran for %q, whose body is gone", s.GetId())
			}
			return nil
		}))
	})
	// The bucket exists once a large body was sent.
	if err := gobustestv1.SendStore(context.Background(), c, &gobustestv1.Store{Id: "warm-up", Data: make([]byte, 2<<20)}); err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{
		"gobus_claims/0123456789abcdef": "the object is gone",
		"other_bucket/x":                "names a bucket other than this bus's claims bucket gobus_claims",
	}
	for ref := range refs {
		env := wire.Envelope{ID: "ref-" + ref, Type: gobustestv1.StoreType, Source: "test", Time: time.Now(), ContentType: wire.ContentTypeProtobuf, Intent: wire.IntentSend}
		m := env.Message("gobus.cmd.archive.gobustest.v1.Store")
		m.Header.Set("ce-dataref", ref)
		if _, err := c.JetStream().PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	var failed []*jetstream.RawStreamMsg
	waitFor(t, "both messages in the error stream", func() bool {
		failed = errorStreamMessages(t, c)
		return len(failed) == 2
	})
	for _, f := range failed {
		ref := f.Header.Get("ce-dataref")
		text := wire.UnescapeHeaderValue(f.Header.Get(wire.HeaderErrorMessage))
		if !strings.Contains(text, "sent by claim check") || !strings.Contains(text, refs[ref]) {
			t.Errorf("ce-dataref %s: error message %q, want it to say %q", ref, text, refs[ref])
		}
		if kind := f.Header.Get(wire.HeaderErrorKind); kind != "unrecoverable" {
			t.Errorf("ce-dataref %s: error kind %q, want unrecoverable", ref, kind)
		}
	}
}

// TestClaimCheckOff checks that WithoutClaimCheck sends bodies inline, so
// one over the server's max payload fails with ErrTooLarge, and that a
// negative threshold is refused at Connect.
func TestClaimCheckOff(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url, gobus.WithoutClaimCheck())
	err := gobustestv1.SendStore(context.Background(), c, &gobustestv1.Store{Id: "big", Data: make([]byte, 2<<20)})
	if !errors.Is(err, gobus.ErrTooLarge) {
		t.Errorf("a 2 MB body without claim check: err = %v, want ErrTooLarge", err)
	}
	_, err = gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithClaimCheck(-1))
	if !errors.Is(err, gobus.ErrInvalidOption) {
		t.Errorf("WithClaimCheck(-1): err = %v, want ErrInvalidOption", err)
	}
}
