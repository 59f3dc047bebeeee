// Command worker is the endpoint process of the crash tests
// (runtime/crash_test.go): it runs the endpoint "worker" of the runtime's
// test contract until it is interrupted, or killed.
//
// For each Work it handles, it first appends the Work's id and a newline to
// the file named by -runs (one write per handler run, so a test counts how
// often each handler ran, duplicates included), then publishes a WorkDone
// event with the same id from the handler. That event is the handler's
// effect: gobus stores it before it acknowledges the Work, so a Work counts
// as handled once its WorkDone is in the events stream.
//
// With -die-on ID, the handler exits the process with status 3 when it
// handles the Work with that id, after recording the run: a message that
// kills every process that takes it.
//
// A write reaches the kernel before the handler goes on, and the kernel
// keeps it when the process is killed; the log needs no fsync to survive
// kill -9 (it would to survive the machine crashing, which the tests do
// not simulate).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

func main() {
	url := flag.String("url", "", "NATS URL of the bus")
	runs := flag.String("runs", "", "file to which each handler run appends the Work's id")
	ackWait := flag.Duration("ack-wait", 30*time.Second, "the endpoint's ack wait")
	dieOn := flag.String("die-on", "", "exit with status 3 when handling the Work with this id")
	flag.Parse()
	if err := run(*url, *runs, *ackWait, *dieOn); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// dieStatus is the exit status of a worker that handled the -die-on Work.
const dieStatus = 3

func run(url, runsPath string, ackWait time.Duration, dieOn string) error {
	if url == "" || runsPath == "" {
		return fmt.Errorf("-url and -runs are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runs, err := os.OpenFile(runsPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer runs.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithLogger(log), gobus.WithSource("crashtest-worker"))
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	}()
	ep, err := gobus.NewEndpoint(c, "worker", gobus.WithAckWait(ackWait))
	if err != nil {
		return err
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, &handler{runs: runs, dieOn: dieOn}); err != nil {
		return err
	}
	return ep.Run(ctx)
}

// handler records each run, then publishes the Work's WorkDone, or dies.
type handler struct {
	gobustestv1.UnimplementedWorkerHandler
	dieOn string
	mu    sync.Mutex
	runs  *os.File
}

func (h *handler) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	h.mu.Lock()
	_, err := h.runs.WriteString(w.GetId() + "\n")
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if w.GetId() == h.dieOn {
		os.Exit(dieStatus)
	}
	return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
}
