package cli_test

import (
	"context"
	"strings"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// gobus sagas lists a saga's instances and shows one with its state
// decoded through the schema registry; gobus status counts them.
func TestSagasListShowAndStatus(t *testing.T) {
	b := newBus(t)
	count := func(_ context.Context, sc *gobus.SagaContext[*gobustestv1.CounterState], cmd *gobustestv1.SagaCount) error {
		sc.State().Total += cmd.GetAdd()
		sc.State().Applied++
		if sc.State().Total >= 100 {
			sc.Complete()
		}
		return nil
	}
	saga := gobus.NewSaga[*gobustestv1.CounterState]("gobustest.v1.CounterState", "counter_id",
		gobus.SagaCommand(gobustestv1.SagaCountRoute, "counter_id", gobus.SagaStarts(), count))
	b.start(t, "counter", func(ep *gobus.Endpoint) error { return gobus.RegisterSaga(ep, saga) })
	ctx := context.Background()
	for _, c := range []*gobustestv1.SagaCount{
		{CounterId: "eu/7", Add: 5}, {CounterId: "eu/7", Add: 2}, {CounterId: "done", Add: 100},
	} {
		if err := gobustestv1.SendSagaCount(ctx, b.client, c); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the counters", func() bool {
		out, err := gobusCLI(t, b.url, "sagas", "list")
		return err == nil && strings.Contains(out, "gobustest.v1.CounterState  1        1")
	})
	waitFor(t, "both counts applied", func() bool {
		out, _ := gobusCLI(t, b.url, "sagas", "show", "CounterState", "eu/7")
		return strings.Contains(out, `"total": "7"`)
	})
	out := mustCLI(t, b.url, "sagas", "show", "CounterState", "eu/7")
	for _, want := range []string{"saga      gobustest.v1.CounterState", "key       eu/7", "status    running", `"counterId": "eu/7"`, `"applied": "2"`} {
		if !strings.Contains(out, want) {
			t.Errorf("sagas show lacks %q:\n%s", want, out)
		}
	}
	list := mustCLI(t, b.url, "sagas", "list", "gobustest.v1.CounterState")
	if !strings.Contains(list, "eu/7") || !strings.Contains(list, "running") || !strings.Contains(list, "completed") {
		t.Errorf("sagas list CounterState:\n%s", list)
	}
	if status := mustCLI(t, b.url, "status"); !strings.Contains(status, "SAGA") || !strings.Contains(status, "gobustest.v1.CounterState") {
		t.Errorf("status does not count the sagas:\n%s", status)
	}
	if _, err := gobusCLI(t, b.url, "sagas", "show", "NoSuchState", "x"); err == nil || !strings.Contains(err.Error(), "no saga") {
		t.Errorf("an unknown saga: %v, want a clear error", err)
	}
}
