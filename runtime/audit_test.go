package gobus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/audit"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// startConversation runs four endpoints that make a conversation of five
// handlings from one Work: worker publishes WorkDone, which watcher and
// archive both handle; watcher sends Audit, whose handler publishes
// WorkAudited, which tail handles. done receives the tail's handling.
func startConversation(t *testing.T, c *gobus.Client, opts ...gobus.EndpointOption) <-chan string {
	t.Helper()
	done := make(chan string, 10)
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
		}))
	}, opts...)
	startEndpoint(t, c, "watcher", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			return gobustestv1.SendAudit(ctx, mc, &gobustestv1.Audit{Entry: e.GetId()})
		}))
	}, opts...)
	startEndpoint(t, c, "archive", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error {
			return nil
		}))
	}, opts...)
	startEndpoint(t, c, "auditor", func(ep *gobus.Endpoint) error {
		if err := gobustestv1.RegisterAuditHandler(ep, auditFunc(func(ctx context.Context, mc *gobus.MessageContext, a *gobustestv1.Audit) error {
			return gobustestv1.PublishWorkAudited(ctx, mc, &gobustestv1.WorkAudited{Entry: a.GetEntry()})
		})); err != nil {
			return err
		}
		return gobustestv1.RegisterWorkAuditedHandler(ep, workAuditedFunc(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkAudited) error {
			done <- e.GetEntry()
			return nil
		}))
	}, opts...)
	return done
}

func TestAuditConversationComesBackInCausalOrder(t *testing.T) {
	c := connect(t, newServerURL(t))
	startConversation(t, c, gobus.WithAudit())
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w1"}, gobus.WithCorrelationID("order-1")); err != nil {
		t.Fatal(err)
	}
	// Another conversation, whose records must not mix in.
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w2"}, gobus.WithCorrelationID("order-2")); err != nil {
		t.Fatal(err)
	}
	var records []audit.Record
	waitFor(t, "the five audit records of order-1", func() bool {
		var err error
		records, err = audit.Conversation(ctx, c.JetStream(), c.Prefix(), "order-1")
		if err != nil && !errors.Is(err, audit.ErrNoStream) {
			t.Fatal(err)
		}
		return len(records) >= 5
	})
	if len(records) != 5 {
		t.Fatalf("got %d records, want 5: %+v", len(records), records)
	}
	pos := map[string]int{}
	for i, r := range records {
		pos[r.Endpoint+" "+r.Type] = i
		if r.CorrelationID != "order-1" {
			t.Errorf("record %d is of conversation %q", i, r.CorrelationID)
		}
		if r.Started.IsZero() || r.Ended.Before(r.Started) || r.Time.IsZero() || r.ID == "" || r.Source == "" {
			t.Errorf("record %d lacks times or attributes: %+v", i, r)
		}
		if r.Headers.Get("ce-type") != r.Type || r.Headers.Get(audit.HeaderEndpoint) != r.Endpoint {
			t.Errorf("record %d's headers disagree with it: %v", i, r.Headers)
		}
	}
	want := []string{"worker gobustest.v1.Work", "watcher gobustest.v1.WorkDone", "archive gobustest.v1.WorkDone",
		"auditor gobustest.v1.Audit", "auditor gobustest.v1.WorkAudited"}
	for _, w := range want {
		if _, ok := pos[w]; !ok {
			t.Fatalf("no record of %s in %v", w, pos)
		}
	}
	before := func(a, b string) {
		if pos[a] > pos[b] {
			t.Errorf("%s came after %s, which it caused: %v", a, b, pos)
		}
	}
	before(want[0], want[1])
	before(want[0], want[2])
	before(want[1], want[3])
	before(want[3], want[4])
	if records[0].CausationID != "" {
		t.Errorf("the first message has causation %q", records[0].CausationID)
	}
}

func TestAuditIsOffByDefault(t *testing.T) {
	c := connect(t, newServerURL(t))
	done := startConversation(t, c)
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w1"}); err != nil {
		t.Fatal(err)
	}
	receive(t, done, "the end of the conversation")
	if _, err := c.JetStream().Stream(ctx, c.Prefix()+"_audit"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the audit stream exists without WithAudit (lookup: %v)", err)
	}
}

func TestAuditFailureDoesNotFailHandling(t *testing.T) {
	reader, metrics := meterProvider(t)
	c := connect(t, newServerURL(t), metrics)
	handled := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			handled.add(w.GetId())
			return nil
		}))
	}, gobus.WithAudit())
	ctx := context.Background()
	// The audit stream goes away under the running endpoint.
	if err := c.JetStream().DeleteStream(ctx, c.Prefix()+"_audit"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three lost audit records counted", func() bool {
		return sumOf(collect(t, reader)["gobus.audit.failed"]) >= 3
	})
	if handled.sum() != 3 || handled.distinct() != 3 {
		t.Errorf("handled %d messages (%d distinct), want each of 3 once", handled.sum(), handled.distinct())
	}
	st, err := c.JetStream().Stream(ctx, c.Prefix()+"_queue_worker")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to be empty: every message acknowledged", func() bool {
		info, err := st.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	if st, err := c.JetStream().Stream(ctx, c.Prefix()+"_errors"); err == nil {
		if info, err := st.Info(ctx); err == nil && info.State.Msgs != 0 {
			t.Errorf("%d messages moved to the error stream because auditing failed", info.State.Msgs)
		}
	}
}

func TestAuditWithoutInstallerNeedsTheStream(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url, gobus.WithoutInstaller())
	ep, err := gobus.NewEndpoint(c, "worker", gobus.WithAudit())
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil })); err != nil {
		t.Fatal(err)
	}
	err = ep.Start(context.Background())
	if !errors.Is(err, gobus.ErrInvalidOption) {
		t.Fatalf("Start with auditing on, the installer off and no audit stream: %v, want ErrInvalidOption", err)
	}
}

func TestAuditRetentionIsChecked(t *testing.T) {
	_, err := gobus.Connect(context.Background(), gobus.WithURL(newServerURL(t)), gobus.WithAuditRetention(-1))
	if !errors.Is(err, gobus.ErrInvalidOption) {
		t.Errorf("WithAuditRetention(-1): %v, want ErrInvalidOption", err)
	}
	c := connect(t, newServerURL(t), gobus.WithAudit(), gobus.WithAuditRetention(90*time.Minute))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil }))
	})
	st, err := c.JetStream().Stream(context.Background(), c.Prefix()+"_audit")
	if err != nil {
		t.Fatalf("a client WithAudit created no audit stream: %v", err)
	}
	if got := st.CachedInfo().Config.MaxAge; got.Minutes() != 90 {
		t.Errorf("audit stream max age %s, want 1h30m", got)
	}
}
