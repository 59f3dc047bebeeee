// Command scheduler is the scheduling process of the schedule crash test
// (runtime/schedule_crash_test.go): it sends -n Tick commands held back
// for -after, prints "scheduled" once the server stored them all, and
// waits to be killed. The test kills it with SIGKILL and checks that the
// ticks arrive anyway: their schedules live on the server.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

func main() {
	url := flag.String("url", "", "NATS URL of the bus")
	n := flag.Int("n", 10, "how many ticks to schedule")
	after := flag.Duration("after", 2*time.Second, "how long to hold each tick back")
	flag.Parse()
	if err := run(*url, *n, *after); err != nil {
		fmt.Fprintln(os.Stderr, "scheduler:", err)
		os.Exit(1)
	}
}

func run(url string, n int, after time.Duration) error {
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(url))
	if err != nil {
		return err
	}
	for i := range n {
		tick := &gobustestv1.Tick{Id: fmt.Sprintf("crash-%d", i)}
		if err := gobustestv1.SendTick(ctx, c, tick, gobus.After(after)); err != nil {
			return err
		}
	}
	fmt.Println("scheduled")
	<-ctx.Done() // never: until killed
	return nil
}
