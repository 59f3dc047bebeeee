// Package outbox makes a handler's database work and its messages all or
// nothing: the inbox (the ids of the messages an endpoint handled) and the
// outbox (the messages it sent) are written in the handler's own database
// transaction, committed with its writes, and the stored messages are
// dispatched after the commit.
//
// Without it, gobus is at least once: a redelivered message runs its
// handler again, and the handler's database write happens again, while
// its outgoing messages are de-duplicated by their derived ids. With it, a
// message's effects on the database and on the bus happen once:
//
//   - the handler runs in a transaction it gets from [Tx]; the message's
//     id is claimed in the inbox first, and a copy of a message the
//     endpoint has handled (a redelivery, or a client re-sending it under
//     the same ce-id) skips the handler and only dispatches what the first
//     handling stored and did not dispatch;
//   - what the handler sends or publishes is written to the outbox table
//     in that transaction ([Capture]) instead of being sent, and
//     dispatched once the transaction is committed, before the incoming
//     message is acknowledged; the ids are derived from the incoming id, so
//     a dispatch repeated after a crash is dropped by JetStream's duplicate
//     window;
//   - a process that died between its commit and its dispatch leaves the
//     messages pending; the dispatcher of any process using the database
//     sends them within two dispatch intervals ([WithDispatchInterval]);
//   - outside a handler, a [Session] is a transaction in which messages are
//     sent: a web request's order row and its PlaceOrder commit together.
//
// Dispatched messages and inbox rows are removed after a retention
// ([WithRetention]); the inbox's must be at least the streams' duplicate
// window.
//
// The stores are packages of their own, so that importing the runtime or
// this package pulls in no database driver:
// [github.com/gobusdev/gobus/runtime/outbox/sqlite] (modernc.org/sqlite, pure Go,
// the embedded default) and [github.com/gobusdev/gobus/runtime/outbox/postgres]
// (pgx v5). The schema is created, or migrated, on [New]; `gobus outbox
// schema --dialect postgres` prints it for DBAs who apply it themselves.
//
// # Usage
//
//	client, err := gobus.Connect(ctx, outbox.Capture())
//	...
//	db, err := sqlite.Open("billing.db")
//	...
//	ob, err := outbox.New(ctx, client, db, sqlite.Dialect)
//	...
//	defer ob.Close(ctx)
//	billing, err := gobus.NewEndpoint(client, "billing", ob.Endpoint())
//	...
//
//	func (h *billingHandler) HandleChargeOrder(ctx context.Context, mc *gobus.MessageContext, cmd *billingv1.ChargeOrder) error {
//		tx := outbox.Tx(ctx)
//		if _, err := tx.ExecContext(ctx, `INSERT INTO payments (order_id) VALUES (?)`, cmd.GetOrderId()); err != nil {
//			return err
//		}
//		return billingv1.PublishOrderCharged(ctx, mc, &billingv1.OrderCharged{OrderId: cmd.GetOrderId()})
//	}
//
// Outside a handler:
//
//	s, err := ob.Begin(ctx)
//	...
//	defer s.Rollback()
//	if _, err := s.Tx().ExecContext(ctx, `INSERT INTO orders (id) VALUES (?)`, id); err != nil {
//		return err
//	}
//	if err := salesv1.SendPlaceOrder(ctx, s, &salesv1.PlaceOrder{OrderId: id}); err != nil {
//		return err
//	}
//	return s.Commit()
package outbox
