package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gobusdev/gobus/internal/outboxhooks"
	gobus "github.com/gobusdev/gobus/runtime"
)

// ErrNotCaptured is a message sent through a [Session] that [Capture] did
// not see: the client lacks it, and the message was sent at once, outside
// the transaction.
var ErrNotCaptured = errors.New("outbox: the message went out at once, outside the transaction: give outbox.Capture() to gobus.Connect")

// Session is a database transaction outside a handler that messages can
// be sent in: a web request that inserts an order and sends PlaceOrder,
// say. It is a [gobus.Dispatcher], so the generated SendX and PublishX
// functions take it. The messages are written to the outbox in the
// transaction and dispatched once it commits; if the process dies right
// after the commit, the dispatcher of any process using the database sends
// them. A rolled-back session sends nothing.
type Session struct {
	t   *txn
	ctx context.Context
}

// Begin begins a session. ctx bounds the transaction, as in
// [sql.DB.BeginTx], and the dispatch after Commit.
func (o *Outbox) Begin(ctx context.Context) (*Session, error) {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("outbox: beginning a session: %w", err)
	}
	return &Session{t: &txn{o: o, tx: tx}, ctx: ctx}, nil
}

// Tx returns the session's transaction, for the caller's own writes.
func (s *Session) Tx() *sql.Tx { return s.t.tx }

// Context returns ctx carrying the session, so that [Tx] finds its
// transaction.
func (s *Session) Context(ctx context.Context) context.Context { return withTxn(ctx, s.t) }

// Dispatch writes out into the outbox in the session's transaction, as
// the client would encode it. The generated SendX and PublishX functions
// call it.
func (s *Session) Dispatch(ctx context.Context, out gobus.Outgoing) error {
	before := len(s.t.stored())
	if err := s.t.o.client.Dispatch(withTxn(ctx, s.t), out); err != nil {
		return err
	}
	if len(s.t.stored()) == before {
		return ErrNotCaptured
	}
	return nil
}

// Commit commits the session's transaction, then dispatches its messages.
// Once the commit succeeded Commit returns nil: a message that could not
// be dispatched now stays in the outbox, and the dispatcher sends it.
func (s *Session) Commit() error {
	if err := s.t.tx.Commit(); err != nil {
		return fmt.Errorf("outbox: committing the session: %w", err)
	}
	outboxhooks.At(outboxhooks.SessionCommitted, "")
	if err := s.t.o.dispatch(s.ctx, s.t.stored()); err != nil {
		s.t.o.cfg.logger.Warn("outbox: dispatching after the commit; the dispatcher will retry", "error", err)
	}
	return nil
}

// Rollback rolls the session's transaction back; nothing it sent goes
// out. After Commit it does nothing and returns [sql.ErrTxDone].
func (s *Session) Rollback() error { return s.t.tx.Rollback() }
