package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/gobusdev/gobus/runtime/outbox/internal/storetest"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

func store() storetest.Store {
	return storetest.Store{Dialect: sqlite.Dialect, Open: open}
}

// open is a new database file in the test's temporary directory.
func open(t testing.TB) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestStore(t *testing.T) { storetest.Run(t, store()) }

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 tests of 1,000 messages each: not in -short")
	}
	storetest.Crash(t, store())
}

// BenchmarkEndpoint compares the plain pump with the outbox on this store:
//
//	go test -run '^$' -bench Endpoint -benchtime 5000x ./runtime/outbox/sqlite ./runtime/outbox/postgres
func BenchmarkEndpoint(b *testing.B) {
	storetest.Bench(b, store())
}
