package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
	"github.com/gobusdev/gobus/runtime/outbox/postgres"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

// outboxResult is the throughput of a handler that inserts a row and
// publishes an event through the outbox on one store, beside the same
// handler publishing without it.
type outboxResult struct {
	store            string
	publish, outbox  float64
	messagesPerRound int
}

// outboxStores are the stores to measure: SQLite always, PostgreSQL when
// a DSN is given.
func outboxStores(dir, dsn string) (map[string]func() (*sql.DB, outbox.Dialect, error), []string) {
	stores := map[string]func() (*sql.DB, outbox.Dialect, error){
		"SQLite": func() (*sql.DB, outbox.Dialect, error) {
			db, err := sqlite.Open(filepath.Join(dir, "bench.db"))
			return db, sqlite.Dialect, err
		},
	}
	names := []string{"SQLite"}
	if dsn != "" {
		stores["PostgreSQL"] = func() (*sql.DB, outbox.Dialect, error) {
			db, err := postgres.Open(dsn)
			return db, postgres.Dialect, err
		}
		names = append(names, "PostgreSQL")
	}
	return stores, names
}

// outboxes measures each store: a handler that publishes one WorkDone,
// and one that also inserts a row, through the outbox.
func (b *bench) outboxes(ctx context.Context, url, dsn string) ([]outboxResult, error) {
	dir, err := os.MkdirTemp("", "gobus-bench-outbox")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithSource("bench"), gobus.WithLogger(log), outbox.Capture())
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	bb := &bench{cfg: b.cfg, client: c, js: c.JetStream()}
	n := max(b.cfg.messages/10, 500) // the outbox commits once per message
	stores, names := outboxStores(dir, dsn)
	var out []outboxResult
	for _, name := range names {
		db, dialect, err := stores[name]()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r, err := bb.outboxStore(ctx, name, db, dialect, n, log)
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r.store = name
		out = append(out, r)
	}
	return out, nil
}

func (b *bench) outboxStore(ctx context.Context, store string, db *sql.DB, dialect outbox.Dialect, n int, log *slog.Logger) (outboxResult, error) {
	if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS bench_effects`); err != nil {
		return outboxResult{}, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_effects (id TEXT PRIMARY KEY)`); err != nil {
		return outboxResult{}, err
	}
	ob, err := outbox.New(ctx, b.client, db, dialect, outbox.WithLogger(log))
	if err != nil {
		return outboxResult{}, err
	}
	defer ob.Close(ctx)
	insert := dialect.Bind(`INSERT INTO bench_effects (id) VALUES (?)`)
	publish := func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
	}
	withRow := func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		if _, err := outbox.Tx(ctx).ExecContext(ctx, insert, w.GetId()); err != nil {
			return err
		}
		return publish(ctx, mc, w)
	}
	// Ids unique across stores and rounds: the queue's duplicate window
	// would drop a second round's Work sent under the first one's ids.
	var round atomic.Int64
	run := func(handle workerFunc, opts ...gobus.EndpointOption) func(context.Context) (float64, error) {
		return func(ctx context.Context) (float64, error) {
			return b.handlerRound(ctx, fmt.Sprintf("%s-%d-", store, round.Add(1)), n, handle, opts...)
		}
	}
	rates, err := b.rounds(ctx, run(publish), run(withRow, ob.Endpoint()))
	if err != nil {
		return outboxResult{}, err
	}
	return outboxResult{publish: rates[0], outbox: rates[1], messagesPerRound: n}, nil
}

// handlerRound queues n Work, then times an endpoint handling them all
// with handle.
func (b *bench) handlerRound(ctx context.Context, prefix string, n int, handle workerFunc, opts ...gobus.EndpointOption) (float64, error) {
	batch := b.client.NewBatch(b.cfg.window)
	for i := range n {
		id := prefix + fmt.Sprint(i)
		if err := gobustestv1.SendWork(ctx, batch, &gobustestv1.Work{Id: id}, gobus.WithMessageID(id)); err != nil {
			return 0, err
		}
	}
	if _, err := batch.Wait(ctx); err != nil {
		return 0, err
	}
	var handled atomic.Int64
	all := make(chan struct{})
	opts = append([]gobus.EndpointOption{gobus.WithConcurrency(b.cfg.concurrency)}, opts...)
	ep, err := gobus.NewEndpoint(b.client, "worker", opts...)
	if err != nil {
		return 0, err
	}
	err = gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		if err := handle(ctx, mc, w); err != nil {
			return err
		}
		if handled.Add(1) == int64(n) {
			close(all)
		}
		return nil
	}))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := ep.Start(ctx); err != nil {
		return 0, err
	}
	defer ep.Stop(ctx)
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("%d of %d handled in 5 minutes", handled.Load(), n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// printOutboxes writes the stores' rows.
func printOutboxes(out io.Writer, rs []outboxResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(out, "\noutbox (%d messages a round)  %12s %12s %8s\n", rs[0].messagesPerRound, "publish", "outbox", "ratio")
	for _, r := range rs {
		fmt.Fprintf(out, "  %-27s %10.0f/s %10.0f/s %8.2f\n", r.store, r.publish, r.outbox, r.outbox/r.publish)
	}
}
