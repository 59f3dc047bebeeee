package gobus_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Invalid configuration fails at Connect, NewEndpoint, registration or
// Start, never at the first message.
func TestInvalidConfigurationFailsAtStartUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newServerURL(t)
	connectCases := []struct {
		name string
		opts []gobus.Option
		want string
	}{
		{"two servers", []gobus.Option{gobus.WithURL(url), gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir()})}, "only one of"},
		{"embedded without store", []gobus.Option{gobus.WithEmbeddedServer(gobus.EmbeddedServer{})}, "StoreDir"},
		{"prefix with a dot", []gobus.Option{gobus.WithURL(url), gobus.WithPrefix("prod.eu")}, `prefix "prod.eu"`},
		{"prefix with a wildcard", []gobus.Option{gobus.WithURL(url), gobus.WithPrefix("*")}, `prefix "*" is not valid`},
		{"reserved prefix", []gobus.Option{gobus.WithURL(url), gobus.WithPrefix("KV")}, `prefix "KV" is reserved`},
		{"route to an invalid endpoint", []gobus.Option{gobus.WithURL(url), gobus.WithRoute(gobustestv1.WorkType, "a b")}, `endpoint "a b"`},
		{"zero replicas", []gobus.Option{gobus.WithURL(url), gobus.WithReplicas(0)}, "WithReplicas(0)"},
	}
	for _, tc := range connectCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := gobus.Connect(ctx, append(tc.opts, gobus.WithLogger(testLogger()))...)
			if err == nil {
				_ = c.Close(ctx)
				t.Fatal("Connect succeeded, want an error")
			}
			if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Connect error %q: want ErrInvalidOption mentioning %q", err, tc.want)
			}
		})
	}

	c := connect(t, url)
	endpointCases := []struct {
		name     string
		endpoint string
		opts     []gobus.EndpointOption
		want     string
	}{
		{"endpoint with a dot", "sales.eu", nil, `endpoint name "sales.eu"`},
		{"endpoint with a space", "sa les", nil, "not a valid NATS subject token"},
		{"empty endpoint", "", nil, "not a valid NATS subject token"},
		{"zero concurrency", "worker", []gobus.EndpointOption{gobus.WithConcurrency(0)}, "WithConcurrency(0)"},
		{"tiny ack wait", "worker", []gobus.EndpointOption{gobus.WithAckWait(1)}, "WithAckWait"},
		{"max ack pending below concurrency", "worker", []gobus.EndpointOption{gobus.WithConcurrency(8), gobus.WithMaxAckPending(4)}, "WithMaxAckPending(4)"},
	}
	for _, tc := range endpointCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gobus.NewEndpoint(c, tc.endpoint, tc.opts...)
			if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewEndpoint error %v: want ErrInvalidOption mentioning %q", err, tc.want)
			}
		})
	}
}

// A command handler registers only on the endpoint the command is routed
// to, so a typo in an endpoint name cannot strand commands.
func TestCommandHandlerOnTheWrongEndpointFails(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ep, err := gobus.NewEndpoint(c, "billing")
	if err != nil {
		t.Fatal(err)
	}
	err = gobustestv1.RegisterWorkerHandler(ep, gobustestv1.UnimplementedWorkerHandler{})
	if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), `go to endpoint "worker"`) || !strings.Contains(err.Error(), "WithRoute") {
		t.Errorf("registering Work on billing: %v, want an error naming endpoint worker and WithRoute", err)
	}
	if err := ep.Start(context.Background()); !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), "no handlers") {
		t.Errorf("Start without handlers: %v, want ErrInvalidOption about no handlers", err)
	}
}

// Registering twice, or after Start, fails.
func TestRegistrationRules(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ep, err := gobus.NewEndpoint(c, "worker")
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, gobustestv1.UnimplementedWorkerHandler{}); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, gobustestv1.UnimplementedWorkerHandler{}); !errors.Is(err, gobus.ErrInvalidOption) {
		t.Errorf("second registration: %v, want ErrInvalidOption", err)
	}
	if err := ep.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(context.Background()); !errors.Is(err, gobus.ErrStarted) {
		t.Errorf("second Start: %v, want ErrStarted", err)
	}
	err = gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error { return nil }))
	if !errors.Is(err, gobus.ErrStarted) {
		t.Errorf("registration after Start: %v, want ErrStarted", err)
	}
}

// WithRoute sends a command to another endpoint than the contract names;
// that endpoint handles it.
func TestRouteOverride(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t), gobus.WithRoute(gobustestv1.WorkType, "worker-eu"))
	got := make(chan string, 1)
	startEndpoint(t, c, "worker-eu", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			got <- mc.Subject()
			return nil
		}))
	})
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	if subject := receive(t, got, "the rerouted command"); subject != "gobus.cmd.worker-eu.gobustest.v1.Work" {
		t.Errorf("rerouted command arrived on %q", subject)
	}
}

// A generated Unimplemented handler fails with ErrUnimplemented, and a nil
// message is refused at the sender.
func TestUnimplementedAndNilMessage(t *testing.T) {
	t.Parallel()
	err := gobustestv1.UnimplementedWorkerHandler{}.HandleWork(context.Background(), nil, nil)
	if !errors.Is(err, gobus.ErrUnimplemented) || !strings.Contains(err.Error(), gobustestv1.WorkType) {
		t.Errorf("Unimplemented handler returned %v", err)
	}
	c := connect(t, newServerURL(t))
	if err := gobustestv1.SendWork(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("sending a nil message: %v, want an error", err)
	}
}

// A closed client refuses to send, and Close is idempotent.
func TestClosedClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(newServerURL(t)), gobus.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{}); !errors.Is(err, gobus.ErrClosed) {
		t.Errorf("send after Close: %v, want ErrClosed", err)
	}
}
