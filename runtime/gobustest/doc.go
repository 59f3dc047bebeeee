// Package gobustest is the test kit of gobus: handler tests without a
// broker, saga scenarios on a virtual clock, and flow tests on a real
// runtime with an embedded JetStream server. It uses only the public API of package gobus, so whatever it
// does a test can do too.
//
// # Handlers
//
// [NewContext] makes a [gobus.MessageContext] for one message, tied to no
// endpoint: call the handler with it, and what the handler sent,
// published, replied, held back or cancelled is recorded, never
// dispatched. [Sent], [Published], [Replied], [Scheduled] and [Cancelled]
// return it by type; [ExpectSent], [ExpectPublished], [ExpectReplied],
// [ExpectScheduled] and [ExpectNothing] expect exactly one (or none), and
// fail with a list of everything the handler did record:
//
//	func TestPlaceOrder(t *testing.T) {
//		cmd := &salesv1.PlaceOrder{OrderId: "o-1"}
//		mc := gobustest.NewContext(cmd, gobustest.WithAttempt(2))
//		if err := (&sales{}).HandlePlaceOrder(context.Background(), mc, cmd); err != nil {
//			t.Fatal(err)
//		}
//		placed := gobustest.ExpectPublished[*salesv1.OrderPlaced](t, mc)
//		held := gobustest.ExpectScheduled[*shippingv1.DispatchParcel](t, mc) // held.Delay: After's d
//	}
//
// # Sagas
//
// [NewSagaScenario] runs a saga (the one a generated NewXSaga function
// returns, or one made with [gobus.NewSaga]) on instances in memory and a
// virtual clock: [SagaScenario.Handle] gives it a message and returns the
// step's outcome, the instance after it, what it emitted and the
// timeouts it requested with their due times; [SagaScenario.AdvanceTime]
// moves the clock on and fires the timeouts that come due, in order, each
// to the instance that requested it:
//
//	s := gobustest.NewSagaScenario(shippingv1.NewShippingSaga(&shipping{}))
//	s.Handle(&salesv1.OrderPlaced{OrderId: "o-1"}).Expect(t, gobus.SagaStarted)
//	fired := s.AdvanceTime(time.Hour) // the timeouts due within the hour
//
// # Flows
//
// [Start] starts a [Bus]: an embedded JetStream server in the test's
// temporary directory and a client, closed when the test ends.
// [Bus.Endpoint] starts an endpoint with the test's handlers, and
// [WaitHandled], [WaitSent], [WaitPublished] and [WaitFailed] wait, up to
// [Bus.Timeout] and never by sleeping, until the bus saw a message of a
// type handled, stored, or moved to the error stream:
//
//	bus := gobustest.Start(t)
//	bus.Endpoint("billing", func(ep *gobus.Endpoint) error { return salesv1.RegisterOrderPlacedHandler(ep, &billing{}) })
//	bus.Endpoint("sales", func(ep *gobus.Endpoint) error { return salesv1.RegisterSalesHandler(ep, &sales{}) })
//	salesv1.SendPlaceOrder(bus.Context(), bus.Client, &salesv1.PlaceOrder{OrderId: "o-1"})
//	billed := gobustest.WaitPublished[*billingv1.OrderBilled](t, bus)
//
// The bus sees what happens through client middleware
// ([gobus.WithMiddleware], [gobus.WithDispatchMiddleware]) and by
// following the error stream. A handler's messages count as stored once
// its handling succeeded; through the outbox, once they are committed to
// it.
package gobustest
