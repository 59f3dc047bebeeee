package typescript_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// parcelsFunc adapts a function to the generated ParcelShippedHandler.
type parcelsFunc func(ctx context.Context, mc *gobus.MessageContext, p *gobustestv1.ParcelShipped) error

func (f parcelsFunc) HandleParcelShipped(ctx context.Context, mc *gobus.MessageContext, p *gobustestv1.ParcelShipped) error {
	return f(ctx, mc, p)
}

// TestInteropFilteredEvents: TypeScript and Go publish ParcelShipped, an
// event filtered by region and priority, on the same subjects (the tokens
// of docs/wire.md, escaping included), and a TypeScript and a Go endpoint
// that subscribe to one region, filtered on the server, each receive the
// events of that region from both, and nothing else: their consumers on
// the events stream have the same filter subject, and the server
// delivered them only the matching events.
func TestInteropFilteredEvents(t *testing.T) {
	node := nodeOrSkip(t)
	url := natstest.RunServer(t).ClientURL()
	c := connect(t, url)
	ctx := context.Background()
	const base = "gobus.evt.gobustest.v1.ParcelShipped"
	wire := captureSubject(t, url, base+".>")

	var mu sync.Mutex
	var goGot []string
	start(t, c, "parcels-go", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterParcelShippedHandler(ep, parcelsFunc(func(_ context.Context, _ *gobus.MessageContext, p *gobustestv1.ParcelShipped) error {
			mu.Lock()
			defer mu.Unlock()
			goGot = append(goGot, p.GetId())
			return nil
		}), gobustestv1.ParcelShippedFilter{Region: gobus.Is("eu.west")})
	})
	sub := startNode(t, node, url, "interop/parcels.js", nil, "subscribe", "eu.west")
	sub.await(t, "ready", "parcels-ts")

	pub := startNode(t, node, url, "interop/parcels.js", nil, "publish", "ts-1:eu.west:2", "ts-2:us:1", "ts-3:Zürich:0")
	pub.await(t, "published", "ts-3")
	for _, p := range []*gobustestv1.ParcelShipped{
		{Id: "go-1", Region: "eu.west", Priority: gobustestv1.Priority_PRIORITY_STANDARD},
		{Id: "go-2", Region: "us", Priority: gobustestv1.Priority_PRIORITY_EXPRESS},
	} {
		if err := gobustestv1.PublishParcelShipped(ctx, c, p, gobus.WithMessageID(p.GetId())); err != nil {
			t.Fatal(err)
		}
	}

	// The TypeScript publisher's subjects are the Go runtime's.
	wantSubjects := map[string]string{
		"ts-1": base + "." + gobus.Is("eu.west").String() + "." + gobus.Is(gobustestv1.Priority_PRIORITY_EXPRESS).String(),
		"ts-2": base + "." + gobus.Is("us").String() + "." + gobus.Is(gobustestv1.Priority_PRIORITY_STANDARD).String(),
		"ts-3": base + "." + gobus.Is("Zürich").String() + "." + gobus.Is(gobustestv1.Priority_PRIORITY_UNSPECIFIED).String(),
		"go-1": base + ".eu~2Ewest.1",
	}
	waitFor(t, "every ParcelShipped on the wire", func() bool {
		for id := range wantSubjects {
			if wire.with("ce-id", id) == nil {
				return false
			}
		}
		return true
	})
	for id, want := range wantSubjects {
		if got := wire.with("ce-id", id).Subject; got != want {
			t.Errorf("ParcelShipped %s went to %s, want %s", id, got, want)
		}
	}

	// Each subscriber gets the eu.west parcels of both publishers, and only those.
	tsGot := func() []string {
		var ids []string
		for _, l := range sub.linesWith("received", "gobustest.v1.ParcelShipped") {
			ids = append(ids, l["id"].(string))
		}
		slices.Sort(ids)
		return ids
	}
	want := []string{"go-1", "ts-1"}
	sub.awaitWhere(t, "both eu.west parcels", func(map[string]any) bool { return len(tsGot()) >= 2 })
	waitFor(t, "the Go subscriber's eu.west parcels", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(goGot) >= 2
	})
	js, err := jetstream.New(c.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"parcels-ts", "parcels-go"} {
		var info *jetstream.ConsumerInfo
		waitFor(t, name+"'s consumer settled", func() bool {
			info, err = infoOf(ctx, js, name)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		})
		filters := info.Config.FilterSubjects
		if info.Config.FilterSubject != "" {
			filters = append(filters, info.Config.FilterSubject)
		}
		if !slices.Equal(filters, []string{base + ".eu~2Ewest.>"}) {
			t.Errorf("consumer %s filters on %v, want [%s.eu~2Ewest.>]", name, filters, base)
		}
		if info.Delivered.Consumer != 2 {
			t.Errorf("the server delivered %d events to %s, want the 2 of region eu.west", info.Delivered.Consumer, name)
		}
	}
	if got := tsGot(); !slices.Equal(got, want) {
		t.Errorf("the TypeScript subscriber received %v, want %v", got, want)
	}
	mu.Lock()
	slices.Sort(goGot)
	if !slices.Equal(goGot, want) {
		t.Errorf("the Go subscriber received %v, want %v", goGot, want)
	}
	mu.Unlock()
	for _, l := range sub.linesWith("received", "gobustest.v1.ParcelShipped") {
		if id := l["id"].(string); l["subject"] != wantSubjects[id] {
			t.Errorf("the TypeScript subscriber got %s on %v, want %s", id, l["subject"], wantSubjects[id])
		}
	}
	sub.stop(t, "parcels-ts")
}

// infoOf is the current info of consumer name on the events stream.
func infoOf(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.ConsumerInfo, error) {
	cons, err := js.Consumer(ctx, "gobus_events", name)
	if err != nil {
		return nil, err
	}
	return cons.Info(ctx)
}
