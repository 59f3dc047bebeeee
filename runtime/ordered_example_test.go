package gobus_test

import (
	"context"
	"fmt"
	"strings"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Work commands handled one at a time per customer, in the order they
// were sent, while other customers' run concurrently; the sender and the
// endpoint both declare it.
func ExampleOrderBy() {
	ctx := context.Background()
	client, err := gobus.Connect(ctx, gobus.OrderBy(func(w *gobustestv1.Work) string {
		customer, _, _ := strings.Cut(w.Id, "/")
		return customer
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close(ctx)
	for _, id := range []string{"alice/1", "bob/1", "alice/2"} {
		if err := gobustestv1.SendWork(ctx, client, &gobustestv1.Work{Id: id}); err != nil {
			panic(err)
		}
	}
}

// The subject token of a key, which senders in other languages compute
// the same way (docs/wire.md).
func ExampleKeyToken() {
	fmt.Println(gobus.KeyToken("ORD-1001"))
	fmt.Println(gobus.KeyToken("alice@example.com"))
	// Output:
	// kORD-1001
	// bYWxpY2VAZXhhbXBsZS5jb20
}

// An endpoint that calls a fragile API at most 50 times a second, however
// many instances of it run.
func ExampleWithRateLimit() {
	ctx := context.Background()
	client, err := gobus.Connect(ctx)
	if err != nil {
		panic(err)
	}
	defer client.Close(ctx)
	ep, err := gobus.NewEndpoint(client, "worker", gobus.WithRateLimit(50))
	if err != nil {
		panic(err)
	}
	err = gobus.HandleCommand(ep, gobustestv1.WorkRoute, func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		return nil // call the API
	})
	if err != nil {
		panic(err)
	}
	_ = ep.Run(ctx)
}
