// Command outboxworker is the endpoint process of the outbox's crash tests
// (runtime/outbox/internal/storetest): it runs the endpoint "worker" of the
// runtime's test contract with an outbox on SQLite or PostgreSQL until it
// is interrupted, or killed.
//
// For each Work it handles, the handler inserts a row with the Work's id
// into the table effects, in the outbox transaction, and publishes a
// WorkDone event with the same id through the outbox. With -die-at POINT
// and -die-after N, the process sends itself SIGKILL the Nth time the
// outbox reaches POINT (see internal/outboxhooks): after the handler's
// writes before the commit ("written"), after the commit before the
// dispatch ("committed"), after the dispatch before the ack
// ("dispatched").
//
// With -sessions N it runs no endpoint: it commits N sessions instead, one
// after the other, each inserting the effect "session-I" and publishing its
// WorkDone; -die-at session-committed kills it right after the commit of
// the -die-after'th.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobusdev/gobus/internal/outboxhooks"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
	"github.com/gobusdev/gobus/runtime/outbox/postgres"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

type flags struct {
	url, store, dsn, dieAt string
	dieAfter, sessions     int
	ackWait                time.Duration
	concurrency            int
}

func main() {
	var f flags
	flag.StringVar(&f.url, "url", "", "NATS URL of the bus")
	flag.StringVar(&f.store, "store", "sqlite", "sqlite or postgres")
	flag.StringVar(&f.dsn, "dsn", "", "the SQLite file or the PostgreSQL DSN")
	flag.StringVar(&f.dieAt, "die-at", "", "the outbox point at which to die")
	flag.IntVar(&f.dieAfter, "die-after", 1, "die the Nth time the point is reached")
	flag.IntVar(&f.sessions, "sessions", 0, "commit this many sessions instead of running the endpoint")
	flag.DurationVar(&f.ackWait, "ack-wait", 30*time.Second, "the endpoint's ack wait")
	flag.IntVar(&f.concurrency, "concurrency", 8, "the endpoint's concurrency")
	flag.Parse()
	if err := run(f); err != nil {
		fmt.Fprintln(os.Stderr, "outboxworker:", err)
		os.Exit(1)
	}
}

func run(f flags) error {
	if f.url == "" || f.dsn == "" {
		return fmt.Errorf("-url and -dsn are required")
	}
	if f.dieAt != "" {
		var n atomic.Int64
		outboxhooks.Point = func(point, _ string) {
			if point == f.dieAt && n.Add(1) == int64(f.dieAfter) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, d, err := open(f.store, f.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS effects (work_id TEXT NOT NULL)`); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := gobus.Connect(ctx, gobus.WithURL(f.url), gobus.WithLogger(log), gobus.WithSource("outboxworker"), outbox.Capture())
	if err != nil {
		return err
	}
	defer closeWithin(c.Close)
	ob, err := outbox.New(ctx, c, db, d, outbox.WithLogger(log), outbox.WithDispatchInterval(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer closeWithin(ob.Close)
	if f.sessions > 0 {
		return sessions(ctx, ob, d, f.sessions)
	}
	ep, err := gobus.NewEndpoint(c, "worker", ob.Endpoint(), gobus.WithAckWait(f.ackWait), gobus.WithConcurrency(f.concurrency))
	if err != nil {
		return err
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, &handler{d: d}); err != nil {
		return err
	}
	return ep.Run(ctx)
}

func open(store, dsn string) (*sql.DB, outbox.Dialect, error) {
	switch store {
	case "sqlite":
		db, err := sqlite.Open(dsn)
		return db, sqlite.Dialect, err
	case "postgres":
		db, err := postgres.Open(dsn)
		return db, postgres.Dialect, err
	}
	return nil, outbox.Dialect{}, fmt.Errorf("-store %q: want sqlite or postgres", store)
}

func closeWithin(f func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = f(ctx)
}

// handler writes the Work's effect and publishes its WorkDone, both in the
// outbox transaction.
type handler struct {
	gobustestv1.UnimplementedWorkerHandler
	d outbox.Dialect
}

func (h *handler) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	if err := effect(ctx, h.d, w.GetId()); err != nil {
		return err
	}
	return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
}

func effect(ctx context.Context, d outbox.Dialect, id string) error {
	_, err := outbox.Tx(ctx).ExecContext(ctx, d.Bind(`INSERT INTO effects (work_id) VALUES (?)`), id)
	return err
}

// sessions commits n sessions, each with an effect and a WorkDone.
func sessions(ctx context.Context, ob *outbox.Outbox, d outbox.Dialect, n int) error {
	for i := range n {
		id := fmt.Sprintf("session-%04d", i)
		s, err := ob.Begin(ctx)
		if err != nil {
			return err
		}
		if err := effect(s.Context(ctx), d, id); err != nil {
			return err
		}
		if err := gobustestv1.PublishWorkDone(ctx, s, &gobustestv1.WorkDone{Id: id}); err != nil {
			return err
		}
		if err := s.Commit(); err != nil {
			return err
		}
	}
	return nil
}
