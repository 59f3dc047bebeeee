package gobus

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A client forgets the endpoints it stopped: a process that starts and
// stops endpoints keeps none of their consumer state.
func TestStoppedEndpointsAreReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := Connect(ctx, WithEmbeddedServer(EmbeddedServer{StoreDir: t.TempDir()}), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	route := NewCommandRoute[*wrapperspb.StringValue]("google.protobuf.StringValue", "cycled", "google.protobuf.StringValue")
	for range 20 {
		ep, err := NewEndpoint(c, "cycled")
		if err != nil {
			t.Fatal(err)
		}
		if err := HandleCommand(ep, route, func(context.Context, *MessageContext, *wrapperspb.StringValue) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := ep.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ep.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.endpoints); n != 0 {
		t.Errorf("the client keeps %d stopped endpoints, want none", n)
	}
}
