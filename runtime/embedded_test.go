package gobus_test

import (
	"context"
	"net"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// The embedded server keeps messages in its store directory: a command
// sent before a restart is handled after it.
func TestEmbeddedServerKeepsMessagesAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := t.TempDir()
	embedded := gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: store})

	c, err := gobus.Connect(ctx, embedded, gobus.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "before-restart"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}

	c, err = gobus.Connect(ctx, embedded, gobus.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	got := make(chan string, 1)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- w.GetId()
			return nil
		}))
	})
	if id := receive(t, got, "the command sent before the restart"); id != "before-restart" {
		t.Errorf("handled %q", id)
	}
}

// An embedded server that listens serves other processes, here another
// client connecting by URL.
func TestEmbeddedServerCanListenOnLoopback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	host, err := gobus.Connect(ctx, gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir(), Listen: addr}), gobus.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Close(ctx) })
	if host.ServerURL() == "" {
		t.Fatal("ServerURL is empty for a listening embedded server")
	}
	got := make(chan string, 1)
	startEndpoint(t, host, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- w.GetId()
			return nil
		}))
	})
	other := connect(t, host.ServerURL())
	if err := gobustestv1.SendWork(ctx, other, &gobustestv1.Work{Id: "from-another-process"}); err != nil {
		t.Fatal(err)
	}
	if id := receive(t, got, "the command from the other client"); id != "from-another-process" {
		t.Errorf("handled %q", id)
	}

	// A second server cannot take the same address: a clear error, at once.
	_, err = gobus.Connect(ctx, gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir(), Listen: addr}))
	if err == nil {
		t.Fatal("a second embedded server on the same address started")
	}
}
