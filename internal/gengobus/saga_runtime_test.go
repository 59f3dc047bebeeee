package gengobus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/gobustest"

	v1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
)

// workTally implements the WorkTally saga generated from
// internal/testproto/gobustest/v1/work_saga.proto, recording which of its
// methods ran.
type workTally struct {
	v1.UnimplementedWorkTallySaga
	calls []string
}

func (t *workTally) HandleWork(ctx context.Context, sc *gobus.SagaContext[*v1.WorkTally], msg *v1.Work) error {
	t.calls = append(t.calls, "HandleWork")
	sc.State().Handled++
	sc.State().First = msg
	return v1.RequestWorkTallyWorkStale(ctx, sc, time.Hour, &v1.WorkStale{Reason: "no WorkDone within an hour"})
}

func (t *workTally) HandleWorkDone(ctx context.Context, sc *gobus.SagaContext[*v1.WorkTally], msg *v1.WorkDone) error {
	t.calls = append(t.calls, "HandleWorkDone")
	sc.State().Handled++
	sc.State().Done = true
	return nil
}

func (t *workTally) TimeoutWorkStale(ctx context.Context, sc *gobus.SagaContext[*v1.WorkTally], msg *v1.WorkStale) error {
	t.calls = append(t.calls, "TimeoutWorkStale")
	sc.Complete()
	return nil
}

func (t *workTally) NotFoundWorkDone(ctx context.Context, mc *gobus.MessageContext, msg *v1.WorkDone) error {
	t.calls = append(t.calls, "NotFoundWorkDone")
	return nil
}

// TestGeneratedSagaRuns runs the generated WorkTally saga in the runtime:
// each message reaches the method the contract gives it, correlated by
// the field the contract names, and a message without an instance takes
// the contract's not-found path.
func TestGeneratedSagaRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	impl := &workTally{}
	saga := v1.NewWorkTallySaga(impl)
	if saga.Name() != "gobustest.v1.WorkTally" {
		t.Errorf("Name() = %q, want the state's full name", saga.Name())
	}

	// Work starts an instance, whose id the runtime sets from Work's id;
	// its handler requests a timeout.
	mc := gobustest.NewContext(&v1.Work{})
	inst, outcome, err := saga.Apply(ctx, mc, nil, &v1.Work{Id: "w1"})
	if err != nil || outcome != gobus.SagaStarted {
		t.Fatalf("Work: outcome %v, error %v; want started", outcome, err)
	}
	if inst.State.GetId() != "w1" || inst.State.GetHandled() != 1 || inst.State.GetFirst().GetId() != "w1" {
		t.Errorf("Work: state %v, want id w1, handled once, started by Work w1", inst.State)
	}
	if held := gobustest.ExpectScheduled[*v1.WorkStale](t, mc); held.Message.GetReason() == "" {
		t.Errorf("the scheduled timeout lost its content: %v", held.Message)
	}

	// WorkDone finds the instance by its id.
	inst, outcome, err = saga.Apply(ctx, gobustest.NewContext(&v1.WorkDone{}), inst, &v1.WorkDone{Id: "w1"})
	if err != nil || outcome != gobus.SagaUpdated || !inst.State.GetDone() || inst.State.GetHandled() != 2 {
		t.Fatalf("WorkDone: outcome %v, error %v, state %v; want updated, done, handled twice", outcome, err, inst)
	}

	// The timeout completes it.
	next, outcome, err := saga.Apply(ctx, gobustest.NewContext(&v1.WorkStale{}), inst, &v1.WorkStale{})
	if err != nil || outcome != gobus.SagaCompleted || next != nil {
		t.Fatalf("WorkStale: outcome %v, error %v, instance %v; want completed and gone", outcome, err, next)
	}

	// WorkDone for no instance goes to NotFoundWorkDone (if_missing:
	// HANDLE).
	if _, outcome, err := saga.Apply(ctx, gobustest.NewContext(&v1.WorkDone{}), nil, &v1.WorkDone{Id: "w2"}); err != nil || outcome != gobus.SagaNotFound {
		t.Errorf("WorkDone without an instance: outcome %v, error %v; want not found", outcome, err)
	}
	// WorkAudited, correlated by its entry, fails for no instance
	// (if_missing: FAIL), unrecoverably.
	_, outcome, err = saga.Apply(ctx, gobustest.NewContext(&v1.WorkAudited{}), nil, &v1.WorkAudited{Entry: "w3"})
	var unrecoverable *gobus.UnrecoverableError
	if outcome != gobus.SagaNotFound || !errors.As(err, &unrecoverable) {
		t.Errorf("WorkAudited without an instance: outcome %v, error %v; want not found and an unrecoverable error", outcome, err)
	}

	want := []string{"HandleWork", "HandleWorkDone", "TimeoutWorkStale", "NotFoundWorkDone"}
	if len(impl.calls) != len(want) {
		t.Fatalf("calls %v, want %v", impl.calls, want)
	}
	for i := range want {
		if impl.calls[i] != want[i] {
			t.Errorf("calls %v, want %v", impl.calls, want)
			break
		}
	}
}

// TestGeneratedSagaCorrelation: each message's key is the field the
// contract names (WorkAudited's entry), and the timeout has none.
func TestGeneratedSagaCorrelation(t *testing.T) {
	t.Parallel()
	saga := v1.NewWorkTallySaga(&workTally{})
	if key, err := saga.Key(&v1.WorkAudited{Entry: "e1"}); err != nil || key != "e1" {
		t.Errorf("Key(WorkAudited) = %q, %v; want its entry e1", key, err)
	}
	if key, err := saga.Key(&v1.Work{Id: "w1"}); err != nil || key != "w1" {
		t.Errorf("Key(Work) = %q, %v; want its id w1", key, err)
	}
	if !saga.IsTimeout("gobustest.v1.WorkStale") || saga.IsTimeout("gobustest.v1.Work") {
		t.Error("IsTimeout: WorkStale is the saga's only timeout")
	}
	if _, err := saga.Key(&v1.WorkStale{}); err == nil {
		t.Error("Key(WorkStale) succeeded: a timeout goes to the instance that requested it")
	}
}

// TestUnimplementedSaga: the embedded Unimplemented type fails every
// message with gobus.ErrUnimplemented, which moves it to the error stream.
func TestUnimplementedSaga(t *testing.T) {
	t.Parallel()
	saga := v1.NewWorkTallySaga(v1.UnimplementedWorkTallySaga{})
	_, _, err := saga.Apply(context.Background(), gobustest.NewContext(&v1.Work{}), nil, &v1.Work{Id: "w1"})
	if !errors.Is(err, gobus.ErrUnimplemented) {
		t.Errorf("error %v, want gobus.ErrUnimplemented", err)
	}
}
