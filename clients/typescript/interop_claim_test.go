package typescript_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// waitFor polls cond until it holds, failing t after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", waitLimit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// claimObject is the object docs/wire.md names for the body of message id
// of type typ.
func claimObject(typ, id string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + id))
	return hex.EncodeToString(sum[:])
}

// checkClaimed checks that m, a message of type typ, travelled by claim
// check: no body, and the reference headers of docs/wire.md for msg's
// encoding (the same bytes in Go and TypeScript for these messages).
func checkClaimed(t *testing.T, m *nats.Msg, typ string, msg proto.Message) {
	t.Helper()
	id := m.Header.Get("ce-id")
	body, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := map[string]string{
		"ce-dataref":         "gobus_claims/" + claimObject(typ, id),
		"ce-gobusdatasize":   strconv.Itoa(len(body)),
		"ce-gobusdatadigest": "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:]),
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("%s %s: %s is %q, want %q", typ, id, k, got, v)
		}
	}
	if len(m.Data) != 0 {
		t.Errorf("%s %s carries a body of %d bytes; a body over the claim limit goes by reference", typ, id, len(m.Data))
	}
}

// awaitRemoved waits until the object that held a handled command's body
// is gone from the claims bucket.
func awaitRemoved(t *testing.T, obs jetstream.ObjectStore, name string) {
	t.Helper()
	waitFor(t, "the handled command's object "+name+" removed from the claims bucket", func() bool {
		_, err := obs.GetInfo(context.Background(), name)
		return errors.Is(err, jetstream.ErrObjectNotFound)
	})
}

// pattern is the blob archive.js sends: byte i is (i*31 + 7) mod 256.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

// TestInteropClaimCheck sends bodies larger than the server's max payload
// both ways. A Go client sends a 3 MiB Store to the TypeScript archive
// endpoint, which follows ce-dataref, gets every byte, removes the
// command's object once handled, and publishes the blob in a Stored event
// by claim check, which a Go endpoint reads. A Store whose reference
// cannot be followed goes to the error stream as unrecoverable. Then a
// TypeScript client sends a 2.5 MiB Store to a Go archive endpoint, under
// the object name and headers the Go runtime writes.
func TestInteropClaimCheck(t *testing.T) {
	node := nodeOrSkip(t)
	url := natstest.RunServer(t).ClientURL()
	c := connect(t, url)
	ctx := context.Background()
	js, err := jetstream.New(c.Conn())
	if err != nil {
		t.Fatal(err)
	}
	commands := captureSubject(t, url, "gobus.cmd.archive.>")
	events := captureSubject(t, url, "gobus.evt.gobustest.v1.Stored")

	mirrored := make(chan *gobustestv1.Stored, 4)
	start(t, c, "mirror", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterStoredHandler(ep, storedFunc(func(_ context.Context, _ *gobus.MessageContext, s *gobustestv1.Stored) error {
			mirrored <- s
			return nil
		}))
	})
	archive := startNode(t, node, url, "interop/archive.js", nil, "serve")
	archive.await(t, "ready", "archive")

	// Go → TypeScript, and the event back.
	blob := make([]byte, 3<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	if err := gobustestv1.SendStore(ctx, c, &gobustestv1.Store{Id: "blob-go", Data: blob}, gobus.WithMessageID("blob-go")); err != nil {
		t.Fatal(err)
	}
	got := archive.await(t, "received", "gobustest.v1.Store")
	if got["id"] != "blob-go" || got["bytes"] != float64(len(blob)) || got["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("the TypeScript archive received %v, want blob-go of %d bytes with SHA-256 %x", got, len(blob), sum)
	}
	obs, err := js.ObjectStore(ctx, "gobus_claims")
	if err != nil {
		t.Fatal(err)
	}
	if m := commands.with("ce-id", "blob-go"); m == nil {
		t.Error("no Store blob-go seen on gobus.cmd.archive.>")
	} else {
		checkClaimed(t, m, "gobustest.v1.Store", &gobustestv1.Store{Id: "blob-go", Data: blob})
	}
	awaitRemoved(t, obs, claimObject("gobustest.v1.Store", "blob-go"))

	var stored *gobustestv1.Stored
	select {
	case stored = <-mirrored:
	case <-time.After(waitLimit):
		t.Fatalf("the Go mirror received no Stored within %s; archive's stderr:\n%s", waitLimit, archive.stderr.String())
	}
	if stored.GetId() != "blob-go" || sha256.Sum256(stored.GetData()) != sum {
		t.Errorf("the Go mirror received Stored %s of %d bytes, want blob-go's %d bytes", stored.GetId(), len(stored.GetData()), len(blob))
	}
	var event *nats.Msg
	waitFor(t, "the Stored event on the wire", func() bool {
		events.mu.Lock()
		defer events.mu.Unlock()
		if len(events.msgs) > 0 {
			event = events.msgs[0]
		}
		return event != nil
	})
	if event.Header.Get("ce-source") != "archive" {
		t.Errorf("Stored came from %q, want the TypeScript archive", event.Header.Get("ce-source"))
	}
	checkClaimed(t, event, "gobustest.v1.Stored", &gobustestv1.Stored{Id: "blob-go", Data: blob})
	// An event's object stays for its other subscribers: the bucket's max age removes it.
	if _, err := obs.GetInfo(ctx, claimObject("gobustest.v1.Stored", event.Header.Get("ce-id"))); err != nil {
		t.Errorf("the Stored event's object: %v; an event's body stays until the bucket's max age", err)
	}

	// A reference that cannot be followed: the error stream, unrecoverable.
	lost := nats.NewMsg("gobus.cmd.archive.gobustest.v1.Store")
	for k, v := range map[string]string{
		"ce-specversion": "1.0", "ce-id": "blob-lost", "Nats-Msg-Id": "blob-lost", "ce-type": "gobustest.v1.Store",
		"ce-source": "interop-test", "ce-datacontenttype": "application/protobuf", "ce-gobusintent": "send",
		"ce-dataref": "gobus_claims/" + claimObject("gobustest.v1.Store", "blob-lost"), "ce-gobusdatasize": "10",
	} {
		lost.Header.Set(k, v)
	}
	if _, err := js.PublishMsg(ctx, lost); err != nil {
		t.Fatal(err)
	}
	archive.await(t, "warn", "moved a message to the error stream (unrecoverable)")
	errs, err := js.Stream(ctx, "gobus_errors")
	if err != nil {
		t.Fatal(err)
	}
	failed, err := errs.GetLastMsgForSubject(ctx, "gobus.err.archive")
	if err != nil {
		t.Fatalf("nothing on gobus.err.archive: %v", err)
	}
	if h := failed.Header; h.Get("ce-id") != "blob-lost" || h.Get("gobus-error-kind") != "unrecoverable" || h.Get("ce-dataref") == "" {
		t.Errorf("the error stream holds ce-id %q, kind %q, ce-dataref %q; want blob-lost, unrecoverable, with its reference",
			h.Get("ce-id"), h.Get("gobus-error-kind"), h.Get("ce-dataref"))
	}
	archive.stop(t, "archive")

	// TypeScript → Go.
	received := make(chan *gobustestv1.Store, 1)
	start(t, c, "archive", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterArchiveHandler(ep, archiveFunc(func(_ context.Context, _ *gobus.MessageContext, s *gobustestv1.Store) error {
			received <- s
			return nil
		}))
	})
	const tsSize = 5 << 19 // 2.5 MiB
	sender := startNode(t, node, url, "interop/archive.js", nil, "send", "blob-ts", strconv.Itoa(tsSize))
	sender.await(t, "sent", "blob-ts")
	var s *gobustestv1.Store
	select {
	case s = <-received:
	case <-time.After(waitLimit):
		t.Fatalf("the Go archive received no Store within %s", waitLimit)
	}
	want := pattern(tsSize)
	if s.GetId() != "blob-ts" || sha256.Sum256(s.GetData()) != sha256.Sum256(want) {
		t.Errorf("the Go archive received Store %s of %d bytes, want blob-ts, %d bytes of archive.js's pattern", s.GetId(), len(s.GetData()), tsSize)
	}
	m := commands.with("ce-id", "blob-ts")
	if m == nil {
		t.Fatal("no Store blob-ts seen on gobus.cmd.archive.>")
	}
	checkClaimed(t, m, "gobustest.v1.Store", &gobustestv1.Store{Id: "blob-ts", Data: want})
	awaitRemoved(t, obs, claimObject("gobustest.v1.Store", "blob-ts"))
}

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
