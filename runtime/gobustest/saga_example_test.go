package gobustest_test

import (
	"fmt"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/runtime/gobustest"
)

// A saga's decisions, step by step, and its timeout fired by moving the
// virtual clock on.
func ExampleSagaScenario() {
	s := gobustest.NewSagaScenario(shipment(30*time.Minute), gobustest.SagaEndpoint("shipper"))
	r := s.Handle(&gobustestv1.SagaOrderOpened{OrderId: "o-1"})
	fmt.Println(r.Outcome, "opened:", r.Instance.State.GetOpened(), "timeout in", r.Timeouts[0].Due.Sub(s.Now()))
	for _, r := range s.AdvanceTime(time.Hour) {
		fmt.Println(r.Outcome, "at", r.Context.Time().Format("15:04"), "sends", gobustest.Sent[*gobustestv1.SagaCloseOrder](r.Context)[0].GetOrderId())
	}
	fmt.Println("instance left:", s.Instance("o-1") != nil)
	// Output:
	// started opened: true timeout in 30m0s
	// completed at 00:30 sends o-1
	// instance left: false
}
