package gobustest

import (
	"context"
	"testing"
	"time"

	gobus "github.com/gobusdev/gobus/runtime"
)

// DefaultTimeout is how long the Wait functions wait, unless
// [Bus.Timeout] says otherwise: generous, so that a loaded machine does
// not fail a test that would pass.
const DefaultTimeout = 30 * time.Second

// Bus is a real gobus runtime for a flow test: an embedded JetStream
// server in the test's temporary directory, a client connected to it, and
// the endpoints the test starts, all closed when the test ends. It
// watches, through client middleware and the error stream, what the
// endpoints handle, what is sent and published, and what fails, so that
// [WaitHandled], [WaitSent], [WaitPublished] and [WaitFailed] can wait for
// it.
type Bus struct {
	// Client is the bus's client: send and publish the test's first
	// messages through it.
	Client *gobus.Client
	// Timeout is how long the Wait functions wait; [DefaultTimeout] by
	// default.
	Timeout time.Duration

	t   testing.TB
	log *testLog
	rec *tracker
}

// Start starts a bus for the test t: an embedded JetStream server storing
// in t.TempDir(), and a client on it with opts (given to [gobus.Connect]
// after the bus's own, so a [gobus.WithLogger] there replaces the bus's
// logger, which writes warnings and errors to t.Log). The bus is closed
// by t.Cleanup. Start fails the test if the server or the client cannot
// start.
func Start(t testing.TB, opts ...gobus.Option) *Bus {
	t.Helper()
	b := &Bus{Timeout: DefaultTimeout, t: t, log: newTestLog(t), rec: newTracker()}
	all := append([]gobus.Option{
		gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir()}),
		gobus.WithLogger(b.log.logger()),
		gobus.WithMiddleware(b.rec.handling),
		gobus.WithDispatchMiddleware(b.rec.dispatch),
	}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), b.Timeout)
	defer cancel()
	c, err := gobus.Connect(ctx, all...)
	if err != nil {
		t.Fatalf("gobustest: starting the bus: %v", err)
	}
	b.Client = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.Timeout)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("gobustest: closing the bus: %v", err)
		}
		b.log.close()
	})
	if err := b.watchErrors(ctx); err != nil {
		t.Fatalf("gobustest: watching the error stream: %v", err)
	}
	return b
}

// Endpoint creates the endpoint name on the bus with opts, has register
// register its handlers (with the generated RegisterXHandler functions),
// and starts it; it is stopped when the test ends. It fails the test if
// any of this fails. Start the endpoints that subscribe to events before
// the messages that lead to them are sent.
func (b *Bus) Endpoint(name string, register func(*gobus.Endpoint) error, opts ...gobus.EndpointOption) *gobus.Endpoint {
	b.t.Helper()
	ep, err := gobus.NewEndpoint(b.Client, name, opts...)
	if err == nil {
		err = register(ep)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), b.Timeout)
		defer cancel()
		err = ep.Start(ctx)
	}
	if err != nil {
		b.t.Fatalf("gobustest: endpoint %s: %v", name, err)
	}
	return ep
}

// Context returns a context for the test's sends that ends after the
// bus's timeout or with the test.
func (b *Bus) Context() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), b.Timeout)
	b.t.Cleanup(cancel)
	return ctx
}
