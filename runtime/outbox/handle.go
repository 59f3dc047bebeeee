package outbox

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/outboxhooks"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Endpoint is the option that runs the endpoint's handlers in outbox
// transactions; give it to [gobus.NewEndpoint]. For each message it
// begins a transaction, which the handler gets from [Tx]. If the inbox
// says the endpoint handled the message already, the handler is skipped
// and only what its first handling stored and did not dispatch is sent.
// Otherwise the message's id goes into the inbox, the handler runs, and
// its outgoing messages go into the outbox, all in the transaction; if the
// handler returns nil, the transaction is committed, then the messages are
// dispatched and the message is acknowledged. If the handler fails, the
// transaction is rolled back and nothing is sent. A copy of the message
// handled at the same time by another instance waits for the inbox row
// until the first commits, then is skipped: the handler runs once.
//
// The inbox is keyed by the endpoint and the message's ce-id, so a message
// re-sent by a client that sets no Nats-Msg-Id applies once too.
//
// The handler must send with the context it was given, or one derived
// from it: that context carries the transaction to [Capture]. A message
// sent with another context is not in the outbox; it goes out with the
// handler's other messages as without one, before the commit.
func (o *Outbox) Endpoint() gobus.MiddlewareOption {
	return gobus.WithMiddleware(o.handle)
}

func (o *Outbox) handle(next gobus.Handler) gobus.Handler {
	return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
		endpoint, id := mc.Endpoint(), mc.ID()
		tx, err := o.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("outbox: beginning the transaction of %s: %w", id, err)
		}
		defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
		claimed, err := claim(ctx, tx, o.dialect, endpoint, id, o.cfg.now())
		if err != nil {
			return err
		}
		if !claimed {
			if err := tx.Rollback(); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			return o.redispatch(ctx, endpoint, id)
		}
		t := &txn{o: o, tx: tx, endpoint: endpoint, incoming: id}
		if err := next(withTxn(ctx, t), mc, msg); err != nil {
			return err
		}
		outboxhooks.At(outboxhooks.Written, id)
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("outbox: committing the handling of %s: %w", id, err)
		}
		outboxhooks.At(outboxhooks.Committed, id)
		if err := o.dispatch(ctx, t.stored()); err != nil {
			return err
		}
		outboxhooks.At(outboxhooks.Dispatched, id)
		return nil
	}
}

// redispatch sends what endpoint's handling of incoming stored and did not
// dispatch: the process that handled it died before it could.
func (o *Outbox) redispatch(ctx context.Context, endpoint, incoming string) error {
	rows, err := pendingOf(ctx, o.db, o.dialect, endpoint, incoming)
	if err != nil {
		return err
	}
	return o.dispatch(ctx, rows)
}
