package gobus_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// waitTimeout bounds every wait on a condition in these tests.
const waitTimeout = 20 * time.Second

// newServerURL starts a JetStream server for the test and returns its URL.
func newServerURL(t *testing.T) string {
	t.Helper()
	return natstest.RunServer(t).ClientURL()
}

// newServerURLB starts a JetStream server for a benchmark.
func newServerURLB(b *testing.B) string {
	b.Helper()
	return natstest.RunServer(b).ClientURL()
}

// connect returns a client for url that is closed when the test ends.
func connect(t *testing.T, url string, opts ...gobus.Option) *gobus.Client {
	t.Helper()
	opts = append([]gobus.Option{gobus.WithURL(url), gobus.WithLogger(testLogger())}, opts...)
	c, err := gobus.Connect(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startEndpoint creates, configures and starts an endpoint.
func startEndpoint(t *testing.T, c *gobus.Client, name string, register func(*gobus.Endpoint) error, opts ...gobus.EndpointOption) *gobus.Endpoint {
	t.Helper()
	ep, err := gobus.NewEndpoint(c, name, opts...)
	if err != nil {
		t.Fatalf("NewEndpoint(%s): %v", name, err)
	}
	if err := register(ep); err != nil {
		t.Fatalf("register on %s: %v", name, err)
	}
	if err := ep.Start(context.Background()); err != nil {
		t.Fatalf("Start(%s): %v", name, err)
	}
	return ep
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive waits for a value on ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
	}
	var zero T
	return zero
}

// counter counts handled message ids, safe for concurrent use.
type counter struct {
	mu    sync.Mutex
	seen  map[string]int
	total int
}

func newCounter() *counter { return &counter{seen: map[string]int{}} }

func (c *counter) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[id]++
	c.total++
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[id]
}

func (c *counter) sum() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// workerFunc adapts a function to the generated WorkerHandler interface.
type workerFunc func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error

func (f workerFunc) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	return f(ctx, mc, w)
}

// workDoneFunc adapts a function to the generated WorkDoneHandler interface.
type workDoneFunc func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error

func (f workDoneFunc) HandleWorkDone(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
	return f(ctx, mc, e)
}
