// Package sqlite is the outbox's store on SQLite, through
// modernc.org/sqlite (pure Go, no cgo): the embedded default, for
// development, tests and single-machine services.
//
//	db, err := sqlite.Open("billing.db")
//	...
//	ob, err := outbox.New(ctx, client, db, sqlite.Dialect)
//
// Importing it registers the driver "sqlite" with database/sql.
package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"

	"github.com/gobusdev/gobus/runtime/outbox"
)

// Dialect is SQLite's, for [outbox.New].
var Dialect = outbox.SQLite

// Open opens the SQLite database in the file at path, creating it if it is
// missing, set up for the outbox: write-ahead logging, every commit synced
// to disk (so a commit that the outbox dispatched survives a power loss),
// transactions that take the write lock when they begin (so concurrent
// handlers wait for one another instead of failing on a lock upgrade), and
// a busy timeout of 10s.
//
// Syncing each commit is most of an outbox handling's cost on SQLite: a
// program that can lose its last commits on a power loss (never on a
// crash of the process) may open the database itself with
// _pragma=synchronous(NORMAL) instead, about three times faster in
// BenchmarkEndpoint.
func Open(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("outbox/sqlite: opening %s: %w", path, err)
	}
	return db, nil
}
