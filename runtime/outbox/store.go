package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	gobus "github.com/gobusdev/gobus/runtime"
)

// queryer is what the outbox's statements run on: a *sql.DB or a *sql.Tx.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stored is one row of the outbox table: an encoded message.
type stored struct {
	id   int64
	kind gobus.Kind
	msg  *nats.Msg
}

// migrate brings the schema in db to [SchemaVersion], in one transaction.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox: migrating the schema: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	if d.lock != "" {
		if _, err := tx.ExecContext(ctx, d.lock); err != nil {
			return fmt.Errorf("outbox: locking the schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, versionTableSQL); err != nil {
		return fmt.Errorf("outbox: creating %s: %w", VersionTable, err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+VersionTable).Scan(&version); err != nil {
		return fmt.Errorf("outbox: reading the schema version: %w", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("outbox: the schema is at version %d, newer than this gobus knows (%d): upgrade gobus", version, SchemaVersion)
	}
	if version == SchemaVersion {
		return nil
	}
	for _, m := range d.migrations[version:] {
		for _, s := range m {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("outbox: migrating the schema to version %d: %w", version+1, err)
			}
		}
		version++
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+VersionTable); err != nil {
		return fmt.Errorf("outbox: writing the schema version: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.Bind(`INSERT INTO `+VersionTable+` (version) VALUES (?)`), version); err != nil {
		return fmt.Errorf("outbox: writing the schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox: migrating the schema: %w", err)
	}
	return nil
}

// insert writes m into the outbox table as a message of endpoint's
// handling of incoming ("" and a session's id outside a handler).
func insert(ctx context.Context, q queryer, d Dialect, endpoint, incoming string, m *gobus.OutgoingMessage, now time.Time) (int64, error) {
	headers, err := json.Marshal(m.Msg.Header)
	if err != nil {
		return 0, fmt.Errorf("outbox: encoding the headers of %s: %w", m.ID, err)
	}
	var id int64
	err = q.QueryRowContext(ctx, d.Bind(`INSERT INTO `+OutboxTable+
		` (endpoint, incoming_id, message_id, kind, subject, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		endpoint, incoming, m.ID, int(m.Route.Kind), m.Msg.Subject, headers, m.Msg.Data, now.UnixMilli()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("outbox: storing %s %s: %w", m.Route.Type, m.ID, err)
	}
	return id, nil
}

// claim records in the inbox that endpoint handles the message with id,
// and reports whether it was not there yet. A transaction that recorded
// the same id and has not ended makes claim wait for its end.
func claim(ctx context.Context, q queryer, d Dialect, endpoint, id string, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, d.Bind(`INSERT INTO `+InboxTable+` (endpoint, message_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`), endpoint, id, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("outbox: recording %s in the inbox: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("outbox: recording %s in the inbox: %w", id, err)
	}
	return n == 1, nil
}

// pendingOf is what endpoint's handling of incoming stored and did not
// dispatch yet.
func pendingOf(ctx context.Context, q queryer, d Dialect, endpoint, incoming string) ([]stored, error) {
	return query(ctx, q, d.Bind(`SELECT id, kind, subject, headers, body FROM `+OutboxTable+
		` WHERE endpoint = ? AND incoming_id = ? AND dispatched_at IS NULL ORDER BY id`), endpoint, incoming)
}

// pendingBefore is at most limit undispatched messages stored before t,
// oldest first.
func pendingBefore(ctx context.Context, q queryer, d Dialect, t time.Time, limit int) ([]stored, error) {
	return query(ctx, q, d.Bind(`SELECT id, kind, subject, headers, body FROM `+OutboxTable+
		` WHERE dispatched_at IS NULL AND created_at < ? ORDER BY created_at, id LIMIT ?`), t.UnixMilli(), limit)
}

func query(ctx context.Context, q queryer, s string, args ...any) ([]stored, error) {
	rows, err := q.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox: reading pending messages: %w", err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var (
			s       stored
			kind    int
			headers []byte
			msg     = &nats.Msg{}
		)
		if err := rows.Scan(&s.id, &kind, &msg.Subject, &headers, &msg.Data); err != nil {
			return nil, fmt.Errorf("outbox: reading pending messages: %w", err)
		}
		if err := json.Unmarshal(headers, &msg.Header); err != nil {
			return nil, fmt.Errorf("outbox: decoding the headers of outbox row %d: %w", s.id, err)
		}
		s.kind, s.msg = gobus.Kind(kind), msg
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: reading pending messages: %w", err)
	}
	return out, nil
}

// markDispatched writes that the messages with ids are in JetStream.
func markDispatched(ctx context.Context, q queryer, d Dialect, ids []int64, now time.Time) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, 0, n+1)
		args = append(args, now.UnixMilli())
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		s := `UPDATE ` + OutboxTable + ` SET dispatched_at = ? WHERE id IN (` + placeholders(n) + `)`
		if _, err := q.ExecContext(ctx, d.Bind(s), args...); err != nil {
			return fmt.Errorf("outbox: marking %d messages dispatched: %w", n, err)
		}
		ids = ids[n:]
	}
	return nil
}

// clean removes the messages dispatched before dispatched and the inbox
// rows written before handled.
func clean(ctx context.Context, q queryer, d Dialect, dispatched, handled time.Time) error {
	_, err := q.ExecContext(ctx, d.Bind(`DELETE FROM `+OutboxTable+` WHERE dispatched_at IS NOT NULL AND dispatched_at < ?`), dispatched.UnixMilli())
	if err == nil {
		_, err = q.ExecContext(ctx, d.Bind(`DELETE FROM `+InboxTable+` WHERE handled_at < ?`), handled.UnixMilli())
	}
	if err != nil {
		return fmt.Errorf("outbox: cleaning up: %w", err)
	}
	return nil
}

// Counts is how many rows the outbox's tables hold.
type Counts struct {
	// Pending is the outgoing messages not dispatched yet.
	Pending int
	// Dispatched is the outgoing messages dispatched and kept for the
	// retention.
	Dispatched int
	// Inbox is the handled incoming messages remembered.
	Inbox int
}

func count(ctx context.Context, q queryer) (Counts, error) {
	var c Counts
	err := q.QueryRowContext(ctx, `SELECT
	(SELECT COUNT(*) FROM `+OutboxTable+` WHERE dispatched_at IS NULL),
	(SELECT COUNT(*) FROM `+OutboxTable+` WHERE dispatched_at IS NOT NULL),
	(SELECT COUNT(*) FROM `+InboxTable+`)`).Scan(&c.Pending, &c.Dispatched, &c.Inbox)
	if err != nil {
		return Counts{}, fmt.Errorf("outbox: counting rows: %w", err)
	}
	return c, nil
}
