package outbox

import (
	"context"
	"database/sql"
	"sync"

	gobus "github.com/gobusdev/gobus/runtime"
)

// txn is an open outbox transaction: a handler's or a session's. It
// collects the messages written to the outbox, to dispatch them after the
// commit.
type txn struct {
	o        *Outbox
	tx       *sql.Tx
	endpoint string
	incoming string

	mu   sync.Mutex
	rows []stored
}

type txnKey struct{}

func withTxn(ctx context.Context, t *txn) context.Context {
	return context.WithValue(ctx, txnKey{}, t)
}

func txnFrom(ctx context.Context) *txn {
	t, _ := ctx.Value(txnKey{}).(*txn)
	return t
}

// Tx returns the transaction of the handler or the [Session] whose
// context ctx is (or derives from), or nil outside one. A handler does
// its own writes in it; they commit together with the inbox and the
// handler's outgoing messages, or not at all.
func Tx(ctx context.Context) *sql.Tx {
	if t := txnFrom(ctx); t != nil {
		return t.tx
	}
	return nil
}

// Capture is the dispatch middleware that writes a message sent in an
// outbox transaction (by a handler of an endpoint with [Outbox.Endpoint],
// or through a [Session]) into the outbox table, in that transaction,
// instead of sending it; the outbox dispatches it after the commit.
// Messages sent outside one pass on unchanged.
//
// Give it to [gobus.Connect], after the client's other dispatch
// middleware: a captured message ends the chain there, so dispatch
// middleware that runs after it (given later, or to an endpoint) never
// sees it. Middleware that adds headers must run before it.
func Capture() gobus.MiddlewareOption {
	return gobus.WithDispatchMiddleware(capture)
}

func capture(next gobus.DispatchFunc) gobus.DispatchFunc {
	return func(ctx context.Context, m *gobus.OutgoingMessage) error {
		t := txnFrom(ctx)
		if t == nil {
			return next(ctx, m)
		}
		return t.store(ctx, m)
	}
}

// store writes m into the outbox table in t's transaction.
func (t *txn) store(ctx context.Context, m *gobus.OutgoingMessage) error {
	// A held-back message becomes its schedule; one the server would
	// refuse fails its sender now rather than stay pending for ever.
	if err := m.Seal(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	id, err := insert(ctx, t.tx, t.o.dialect, t.endpoint, t.incoming, m, t.o.cfg.now())
	if err != nil {
		return err
	}
	t.rows = append(t.rows, stored{id: id, kind: m.Route.Kind, msg: m.Msg})
	return nil
}

// stored returns how many messages t holds, and them.
func (t *txn) stored() []stored {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows
}
