package outbox_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

// A session sends a command in a transaction, dispatched once it commits;
// the command's handler writes a row and publishes an event in the
// outbox transaction of its endpoint.
func Example() {
	dir, err := os.MkdirTemp("", "outbox-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	client, err := gobus.Connect(ctx,
		gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: filepath.Join(dir, "nats")}),
		gobus.WithLogger(quiet), outbox.Capture())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)
	db, err := sqlite.Open(filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ob, err := outbox.New(ctx, client, db, sqlite.Dialect, outbox.WithLogger(quiet))
	if err != nil {
		log.Fatal(err)
	}
	defer ob.Close(ctx)
	if _, err := db.ExecContext(ctx, `CREATE TABLE work (id TEXT)`); err != nil {
		log.Fatal(err)
	}

	worker, err := gobus.NewEndpoint(client, "worker", ob.Endpoint())
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan string, 2)
	err = gobustestv1.RegisterWorkHandler(worker, workFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		if _, err := outbox.Tx(ctx).ExecContext(ctx, `INSERT INTO work (id) VALUES (?)`, w.GetId()); err != nil {
			return err
		}
		done <- w.GetId()
		return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
	}))
	if err != nil {
		log.Fatal(err)
	}

	// The web request: its row and its command commit together.
	s, err := ob.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, s, &gobustestv1.Work{Id: "w-1"}, gobus.WithMessageID("w-1")); err != nil {
		log.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		log.Fatal(err)
	}
	if err := worker.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer worker.Stop(ctx)
	fmt.Println("handled", <-done)

	// Stop, so that both handlings have ended when the rows are counted.
	if err := worker.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM work`).Scan(&rows); err != nil {
		log.Fatal(err)
	}
	c, err := ob.Counts(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d row; outbox: %d pending, %d dispatched; inbox: %d\n", rows, c.Pending, c.Dispatched, c.Inbox)
	// Output:
	// handled w-1
	// 1 row; outbox: 0 pending, 2 dispatched; inbox: 1
}

type workFunc func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error

func (f workFunc) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	return f(ctx, mc, w)
}
