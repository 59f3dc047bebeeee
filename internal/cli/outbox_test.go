package cli_test

import (
	"strings"
	"testing"

	"github.com/gobusdev/gobus/runtime/outbox"
)

func TestOutboxSchema(t *testing.T) {
	for _, d := range []outbox.Dialect{outbox.SQLite, outbox.Postgres} {
		out, code := runMain("outbox", "schema", "--dialect", d.Name)
		if code != 0 || out != outbox.Schema(d) {
			t.Errorf("outbox schema --dialect %s: exit %d, output\n%s\nwant outbox.Schema", d.Name, code, out)
		}
	}
	if !strings.Contains(outbox.Schema(outbox.Postgres), "BYTEA") {
		t.Errorf("the PostgreSQL schema has no BYTEA column:\n%s", outbox.Schema(outbox.Postgres))
	}
	out, code := runMain("outbox", "schema", "--dialect", "oracle")
	if code == 0 || !strings.Contains(out, "postgres, sqlite") {
		t.Errorf("outbox schema --dialect oracle: exit %d, output %q; want a failure naming the dialects", code, out)
	}
}
