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
// With -ordered, Work is handled in order per key, the part of its id
// before the first '/' (gobus.OrderBy), and with -instance NAME each line
// of the -runs file is the Work's id, a tab and NAME, so that several
// processes can append to one file: a key's Work is handled one at a time
// across them, so the file's order is each key's handling order.
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
	"strings"
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
	ordered := flag.Bool("ordered", false, "handle Work in order per key, the part of its id before the first '/'")
	instance := flag.String("instance", "", "write this name after each id in the -runs file")
	flag.Parse()
	if err := run(*url, *runs, *ackWait, *dieOn, *ordered, *instance); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// dieStatus is the exit status of a worker that handled the -die-on Work.
const dieStatus = 3

// orderByKey is the ordering of -ordered: Work by the part of its id
// before the first '/'. Senders give their clients the same option.
func orderByKey() gobus.Option {
	return gobus.OrderBy(func(w *gobustestv1.Work) string { k, _, _ := strings.Cut(w.GetId(), "/"); return k })
}

func run(url, runsPath string, ackWait time.Duration, dieOn string, ordered bool, instance string) error {
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
	opts := []gobus.Option{gobus.WithURL(url), gobus.WithLogger(log), gobus.WithSource("crashtest-worker")}
	if ordered {
		opts = append(opts, orderByKey())
	}
	c, err := gobus.Connect(ctx, opts...)
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
	suffix := "\n"
	if instance != "" {
		suffix = "\t" + instance + "\n"
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, &handler{runs: runs, dieOn: dieOn, suffix: suffix}); err != nil {
		return err
	}
	return ep.Run(ctx)
}

// handler records each run, then publishes the Work's WorkDone, or dies.
type handler struct {
	gobustestv1.UnimplementedWorkerHandler
	dieOn  string
	suffix string // after the id on each line of runs
	mu     sync.Mutex
	runs   *os.File
}

func (h *handler) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	h.mu.Lock()
	_, err := h.runs.WriteString(w.GetId() + h.suffix) // one write: appended whole
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if w.GetId() == h.dieOn {
		os.Exit(dieStatus)
	}
	return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
}
