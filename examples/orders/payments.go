package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

// payments is billing's database: SQLite, with one row in payments per
// charge. Billing charges through the outbox: the payment row, the
// OrderPlaced's id in the inbox and the OrderBilled it publishes commit in
// one transaction, so a billing process killed at any point, and started
// again, charges every order exactly once.
type payments struct {
	db    *sql.DB
	ob    *outbox.Outbox
	clean func()
}

// openPayments opens the payments database at path, or in a temporary
// directory if path is empty, with its outbox.
func openPayments(ctx context.Context, c *gobus.Client, path string) (*payments, error) {
	clean := func() {}
	if path == "" {
		dir, err := os.MkdirTemp("", "gobus-orders-billing-")
		if err != nil {
			return nil, err
		}
		clean = func() { _ = os.RemoveAll(dir) }
		path = filepath.Join(dir, "billing.db")
	}
	db, err := sqlite.Open(path)
	if err == nil {
		_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS payments (order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL)`)
	}
	var ob *outbox.Outbox
	if err == nil {
		ob, err = outbox.New(ctx, c, db, sqlite.Dialect)
	}
	if err != nil {
		if db != nil {
			_ = db.Close()
		}
		clean()
		return nil, fmt.Errorf("billing's database %s: %w", path, err)
	}
	return &payments{db: db, ob: ob, clean: clean}, nil
}

// close stops the outbox's dispatcher and closes the database.
func (p *payments) close(ctx context.Context) {
	_ = p.ob.Close(ctx)
	_ = p.db.Close()
	p.clean()
}

// charge records the payment of an order in the handler's outbox
// transaction.
func charge(ctx context.Context, orderID string, cents int64) error {
	tx := outbox.Tx(ctx)
	if tx == nil {
		return errors.New("billing runs without its outbox")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO payments (order_id, amount_cents) VALUES (?, ?)`, orderID, cents)
	return err
}

// billingDB is where billing keeps its payments: -billing-db, else in the
// embedded server's -store directory, else a temporary file.
func billingDB(cfg config) string {
	switch {
	case cfg.billingDB != "":
		return cfg.billingDB
	case cfg.store != "":
		return filepath.Join(cfg.store, "billing.db")
	}
	return ""
}
