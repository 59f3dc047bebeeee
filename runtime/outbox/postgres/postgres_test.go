package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/gobusdev/gobus/runtime/outbox/internal/storetest"
	"github.com/gobusdev/gobus/runtime/outbox/postgres"
)

// dsnVar names the PostgreSQL database the tests use.
const dsnVar = "GOBUS_TEST_POSTGRES"

// serverDSN is the DSN of the test server, or skips the test; in CI
// (CI=true) a missing DSN fails it, so that CI cannot skip PostgreSQL.
func serverDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	switch {
	case dsn != "":
		return dsn
	case os.Getenv("CI") == "true":
		t.Fatalf("outbox/postgres: %s is not set in CI: .ci/run sources .ci/postgres, which sets it", dsnVar)
	}
	t.Skipf("outbox/postgres: set %s to a PostgreSQL DSN to run these tests (source .ci/postgres starts a throwaway server and sets it)", dsnVar)
	return ""
}

var schemas atomic.Int64

// open is a new, empty schema of the test database, dropped when the test
// ends, and the DSN that opens it.
func open(t testing.TB) (*sql.DB, string) {
	t.Helper()
	base := serverDSN(t)
	admin, err := postgres.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("gobus_test_%d_%d", os.Getpid(), schemas.Add(1))
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	dsn := withSearchPath(t, base, schema)
	db, err := postgres.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin, err := postgres.Open(base)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return db, dsn
}

// withSearchPath is dsn with schema as its search path.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func store() storetest.Store {
	return storetest.Store{Dialect: postgres.Dialect, Open: open}
}

func TestStore(t *testing.T) {
	serverDSN(t)
	storetest.Run(t, store())
}

func TestCrash(t *testing.T) {
	serverDSN(t)
	if testing.Short() {
		t.Skip("kill -9 tests of 1,000 messages each: not in -short")
	}
	storetest.Crash(t, store())
}

// BenchmarkEndpoint compares the plain pump with the outbox on this store:
//
//	go test -run '^$' -bench Endpoint -benchtime 5000x ./runtime/outbox/sqlite ./runtime/outbox/postgres
func BenchmarkEndpoint(b *testing.B) {
	serverDSN(b)
	storetest.Bench(b, store())
}
