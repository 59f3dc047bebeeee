// Command edge is the edge process of the store-and-forward crash test
// (runtime/edge_crash_test.go): a client on an edge (gobus.WithEdge) that
// sends -n Work commands for the hub's worker, prints "sent" once its own
// server has stored them all, and forwards them to the hub until it is
// killed. Started again on the same -store with -n 0, it only forwards
// what is left.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

func main() {
	hub := flag.String("hub", "", "the hub's leafnodes URL")
	store := flag.String("store", "", "the edge's store directory")
	n := flag.Int("n", 0, "how many Work to send, with ids w00000, w00001, …")
	flag.Parse()
	if err := run(*hub, *store, *n); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(hub, store string, n int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := gobus.Connect(ctx, gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), gobus.WithEdge(gobus.Edge{
		StoreDir: store, Hub: hub, Domain: "crash-edge", HubDomain: "hub",
	}))
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for i := range n {
		if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: fmt.Sprintf("w%05d", i)}); err != nil {
			return err
		}
	}
	fmt.Println("sent")
	<-ctx.Done() // until killed or interrupted
	return nil
}
