package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A command held back on the server for a minute, and cancelled by the id
// its schedule got.
func ExampleAfter() {
	ctx := context.Background()
	client, err := gobus.Connect(ctx)
	if err != nil {
		panic(err)
	}
	defer client.Close(ctx)

	var id string
	err = gobustestv1.SendTick(ctx, client, &gobustestv1.Tick{Id: "reminder"},
		gobus.After(time.Minute), gobus.ScheduledID(&id))
	if err != nil {
		panic(err)
	}
	switch err := client.CancelScheduled(ctx, id); {
	case errors.Is(err, gobus.ErrScheduleFired):
		fmt.Println("too late: it was delivered")
	case err != nil:
		panic(err)
	default:
		fmt.Println("cancelled: it will never be delivered")
	}
}

// A client that must answer a user waits for a command's reply, up to a
// deadline.
func ExampleRequest() {
	ctx := context.Background()
	client, err := gobus.Connect(ctx)
	if err != nil {
		panic(err)
	}
	defer client.Close(ctx)

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reply, err := gobustestv1.RequestQuote(ctx, client, &gobustestv1.Quote{Item: "book"})
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Println("no answer in time")
	case err != nil:
		panic(err)
	case reply.Refused != nil:
		fmt.Println("refused:", reply.Refused.Reason)
	default:
		fmt.Println("price:", reply.Quoted.Cents)
	}
}
