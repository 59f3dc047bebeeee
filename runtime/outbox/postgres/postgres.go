// Package postgres is the outbox's store on PostgreSQL, through pgx v5's
// database/sql driver: the store for production.
//
//	db, err := postgres.Open("postgres://billing@db.internal/billing")
//	...
//	ob, err := outbox.New(ctx, client, db, postgres.Dialect)
//
// A handler gets a *sql.Tx from [outbox.Tx]. Importing the package
// registers the driver "pgx" with database/sql.
package postgres

import (
	"database/sql"
	"fmt"

	// pgx v5 through database/sql, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gobusdev/gobus/runtime/outbox"
)

// Dialect is PostgreSQL's, for [outbox.New].
var Dialect = outbox.Postgres

// Open opens a pool of connections to the PostgreSQL database dsn names
// (a URL or key=value string, as pgx takes it).
func Open(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("outbox/postgres: %w", err)
	}
	return db, nil
}
