// Package gobus is the runtime of gobus, a contract-first message bus over
// NATS JetStream. Its import path is github.com/gobusdev/gobus/runtime.
//
// Contracts are protobuf messages marked as commands or events with the
// gobus.v1 options; protoc-gen-gobus generates, next to each .pb.go file,
// typed senders (SendX), publishers (PublishX), handler interfaces and
// routes that call the generic functions of this package.
//
// # Usage
//
//	ctx := context.Background()
//	client, err := gobus.Connect(ctx, gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: "data"}))
//	if err != nil {
//		return err
//	}
//	defer client.Close(ctx)
//
//	sales, err := gobus.NewEndpoint(client, "sales", gobus.WithConcurrency(8))
//	if err != nil {
//		return err
//	}
//	if err := salesv1.RegisterSalesHandler(sales, &salesHandler{}); err != nil {
//		return err
//	}
//	if err := sales.Start(ctx); err != nil {
//		return err
//	}
//	defer sales.Stop(ctx)
//
//	// Outside a handler, through the client: stored when it returns.
//	err = salesv1.SendPlaceOrder(ctx, client, &salesv1.PlaceOrder{OrderId: "o-1"})
//
// A handler sends and publishes through its [MessageContext]; what it gives
// there is dispatched only after it returns nil:
//
//	func (h *salesHandler) HandlePlaceOrder(ctx context.Context, mc *gobus.MessageContext, cmd *salesv1.PlaceOrder) error {
//		return salesv1.PublishOrderPlaced(ctx, mc, &salesv1.OrderPlaced{OrderId: cmd.GetOrderId()})
//	}
//
// # Middleware
//
// [WithMiddleware] wraps the handling of every message, [WithDispatchMiddleware]
// every outgoing one; both take the func(next) next shape, given to
// [Connect] for all of a client's endpoints or to [NewEndpoint] for one:
//
//	timing := func(next gobus.Handler) gobus.Handler {
//		return func(ctx context.Context, mc *gobus.MessageContext, msg proto.Message) error {
//			start := time.Now()
//			err := next(ctx, mc, msg)
//			log.Printf("%s took %s, next: %s", mc.Type(), time.Since(start), mc.NextStep(err))
//			return err
//		}
//	}
//	sales, err := gobus.NewEndpoint(client, "sales", gobus.WithMiddleware(timing))
//
// # Time and replies
//
// [After] and [At] hold a message back on the NATS server (nats-server 2.12
// or later) until its time; [ScheduledID] gives the id that
// [Client.CancelScheduled] and [MessageContext.CancelScheduled] cancel it
// by. A command whose contract names replies is answered with the
// generated ReplyX functions; a client waits for the reply with RequestX
// ([Request]), an endpoint that sent the command gets it in its own queue
// ([HandleReply]):
//
//	err := shippingv1.SendDispatchParcel(ctx, mc, cmd, gobus.After(time.Hour), gobus.ScheduledID(&id))
//	accepted, err := salesv1.RequestPlaceOrder(ctx, client, order) // until ctx ends
//
// # Guarantees
//
// Delivery is at least once. A message is acknowledged only after its
// handler returned nil and everything the handler sent or published is
// stored; a failed or interrupted handler has the message delivered again.
// Messages a handler dispatches get ids derived from the incoming message's
// id, so a retried handler that sends the same messages sends the same ids,
// and JetStream drops the copies within its duplicate window.
//
// # Topology
//
// Commands go to a WorkQueue stream per endpoint, consumed by one durable
// consumer that all instances of the endpoint share. Events go to one
// events stream; each subscribing endpoint has its own durable consumer,
// filtered to the event types it handles. docs/wire.md in the repository
// lists the subjects, streams, consumers and headers.
package gobus
