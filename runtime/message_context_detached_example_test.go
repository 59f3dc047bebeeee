package gobus_test

import (
	"context"
	"fmt"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A handler called with a detached context, as a test does: what it sends
// is recorded, not dispatched. Package gobustest builds its kit on this.
func ExampleNewDetachedMessageContext() {
	mc := gobus.NewDetachedMessageContext(gobus.MessageInfo{Type: gobustestv1.WorkType, Endpoint: "worker", Attempt: 2})
	handle := func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		if err := gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()}); err != nil {
			return err
		}
		return gobustestv1.SendAudit(ctx, mc, &gobustestv1.Audit{Entry: "done " + w.GetId()}, gobus.After(time.Minute))
	}
	if err := handle(context.Background(), mc, &gobustestv1.Work{Id: "w-1"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("attempt", mc.Attempt(), "at", mc.Endpoint())
	for _, r := range mc.Recorded() {
		fmt.Println(r.Route.Kind, r.Route.Type, "held back", r.Delay, r.ScheduledID != "")
	}
	// Output:
	// attempt 2 at worker
	// event gobustest.v1.WorkDone held back 0s false
	// command gobustest.v1.Audit held back 1m0s true
}
