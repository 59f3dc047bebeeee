package gengobus_test

import (
	"strings"
	"testing"
)

// TestGeneratedSagaTypeChecks type-checks small programs against the
// saga generated for internal/testproto's WorkTally, as
// TestGeneratedCodeTypeChecks does for commands and events: an
// implementation registers, its handlers get the state's saga context and
// the message's own type, and a timeout can only be requested with its
// own type.
func TestGeneratedSagaTypeChecks(t *testing.T) {
	t.Parallel()
	const testproto = "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	exports := exportData(t, "github.com/gobusdev/gobus/runtime", testproto)
	tests := []struct {
		name string
		body string
		want string // a part of the type error, or "" if the body is valid
	}{
		{"register an implementation", `return v1.RegisterWorkTallySaga(ep, tally{})`, ""},
		{"register an Unimplemented saga", `return v1.RegisterWorkTallySaga(ep, v1.UnimplementedWorkTallySaga{})`, ""},
		{"the saga's wire name", `if v1.NewWorkTallySaga(tally{}).Name() != "gobustest.v1.WorkTally" { return nil }; return nil`, ""},
		{"request a timeout", `var sc *gobus.SagaContext[*v1.WorkTally]; return v1.RequestWorkTallyWorkStale(ctx, sc, time.Minute, &v1.WorkStale{})`, ""},
		{"request a timeout of another type", `var sc *gobus.SagaContext[*v1.WorkTally]; return v1.RequestWorkTallyWorkStale(ctx, sc, time.Minute, &v1.Work{})`, "cannot use"},
		{"request a timeout for another saga's context", `var sc *gobus.SagaContext[*v1.Work]; return v1.RequestWorkTallyWorkStale(ctx, sc, time.Minute, &v1.WorkStale{})`, "cannot use"},
		{"an implementation without every method", `return v1.RegisterWorkTallySaga(ep, partial{})`, "missing method"},
		{"a handler with the wrong message type", `var s v1.WorkTallySaga = tally{}; return s.HandleWork(ctx, nil, &v1.WorkDone{})`, "cannot use"},
		{"a not-found handler gets a plain message context", `var s v1.WorkTallySaga = tally{}; var sc *gobus.SagaContext[*v1.WorkTally]; return s.NotFoundWorkDone(ctx, sc, &v1.WorkDone{})`, "cannot use"},
		{"no not-found handler for a message that fails without an instance", `var s v1.WorkTallySaga = tally{}; return s.NotFoundWorkAudited(ctx, nil, &v1.WorkAudited{})`, "NotFoundWorkAudited undefined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := `package p

import (
	"context"
	"time"

	gobus "github.com/gobusdev/gobus/runtime"
	v1 "` + testproto + `"
)

var _ = time.Second

// tally implements the saga; its methods have the generated signatures.
type tally struct{ v1.UnimplementedWorkTallySaga }

func (tally) HandleWork(ctx context.Context, sc *gobus.SagaContext[*v1.WorkTally], msg *v1.Work) error {
	sc.State().Handled++
	return v1.RequestWorkTallyWorkStale(ctx, sc, time.Hour, &v1.WorkStale{Reason: "slow"})
}

func (tally) NotFoundWorkDone(ctx context.Context, mc *gobus.MessageContext, msg *v1.WorkDone) error {
	return nil
}

// partial lacks the saga's methods.
type partial struct{}

func (partial) HandleWork(ctx context.Context, sc *gobus.SagaContext[*v1.WorkTally], msg *v1.Work) error {
	return nil
}

func f(ctx context.Context, ep *gobus.Endpoint) error {
	` + tc.body + `
}
`
			err := typeCheck(src, exports)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid code does not type-check: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("code that must not compile type-checks:\n%s", tc.body)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("type error %q lacks %q", err, tc.want)
			}
		})
	}
}
