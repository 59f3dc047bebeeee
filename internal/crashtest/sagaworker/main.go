// Command sagaworker is the saga endpoint process of the saga crash test
// (runtime/saga_crash_test.go): it runs the shipment saga of the runtime's
// test contract on the endpoint "shipper" until it is interrupted, or
// killed. The saga ships an order, publishing SagaParcelShipped, once it
// has seen both SagaOrderOpened and SagaOrderPaid for it, in either order,
// and completes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

func main() {
	url := flag.String("url", "", "NATS URL of the bus")
	ackWait := flag.Duration("ack-wait", 30*time.Second, "the endpoint's ack wait")
	flag.Parse()
	if err := run(*url, *ackWait); err != nil {
		fmt.Fprintln(os.Stderr, "sagaworker:", err)
		os.Exit(1)
	}
}

func run(url string, ackWait time.Duration) error {
	if url == "" {
		return fmt.Errorf("-url is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithLogger(log), gobus.WithSource("crashtest-sagaworker"))
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	}()
	ep, err := gobus.NewEndpoint(c, "shipper", gobus.WithAckWait(ackWait), gobus.WithCompletedSagaTTL(time.Hour))
	if err != nil {
		return err
	}
	saga := gobus.NewSaga[*gobustestv1.ShipmentState]("gobustest.v1.ShipmentState", "order_id",
		gobus.SagaEvent(gobustestv1.SagaOrderOpenedRoute, "order_id", gobus.SagaStarts(), opened),
		gobus.SagaEvent(gobustestv1.SagaOrderPaidRoute, "order_id", gobus.SagaStarts(), paid),
	)
	if err := gobus.RegisterSaga(ep, saga); err != nil {
		return err
	}
	return ep.Run(ctx)
}

func opened(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState], _ *gobustestv1.SagaOrderOpened) error {
	sc.State().Opened = true
	return progress(ctx, sc)
}

func paid(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState], _ *gobustestv1.SagaOrderPaid) error {
	sc.State().Paid = true
	return progress(ctx, sc)
}

func progress(ctx context.Context, sc *gobus.SagaContext[*gobustestv1.ShipmentState]) error {
	st := sc.State()
	st.Handled++
	if !st.Opened || !st.Paid {
		return nil
	}
	sc.Complete()
	return gobustestv1.PublishSagaParcelShipped(ctx, sc, &gobustestv1.SagaParcelShipped{OrderId: st.OrderId})
}
