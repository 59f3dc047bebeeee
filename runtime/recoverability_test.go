package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// errorStreamMessages returns every message in the error stream.
func errorStreamMessages(t *testing.T, c *gobus.Client) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s := mustStream(t, c, "gobus_errors")
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func streamMsgs(t *testing.T, c *gobus.Client, name string) uint64 {
	t.Helper()
	info, err := mustStream(t, c, name).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// attemptLog records when each attempt of a message ran.
type attemptLog struct {
	mu    sync.Mutex
	times map[string][]time.Time
	nums  map[string][]int
}

func newAttemptLog() *attemptLog {
	return &attemptLog{times: map[string][]time.Time{}, nums: map[string][]int{}}
}

func (l *attemptLog) add(id string, attempt int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times[id] = append(l.times[id], time.Now())
	l.nums[id] = append(l.nums[id], attempt)
}

func (l *attemptLog) get(id string) ([]time.Time, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.times[id]...), append([]int(nil), l.nums[id]...)
}

// failingWorker fails each Work its FailTimes times, then succeeds.
func failingWorker(log *attemptLog, succeeded *counter) workerFunc {
	return func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		log.add(w.GetId(), mc.Attempt())
		if mc.Attempt() <= int(w.GetFailTimes()) {
			return fmt.Errorf("work %s fails on attempt %d", w.GetId(), mc.Attempt())
		}
		succeeded.add(w.GetId())
		return nil
	}
}

// A handler that fails twice then succeeds is handled once, on attempt 3:
// the second attempt at once, the third after the policy's delay.
func TestImmediateThenDelayedRetry(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	log, ok := newAttemptLog(), newCounter()
	policy := gobus.RetryPolicy{Immediate: 1, Delayed: 3, Delay: 300 * time.Millisecond, MaxDelay: time.Second, Jitter: 0.1}
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, failingWorker(log, ok))
	}, gobus.WithRetryPolicy(policy))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w", FailTimes: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "success", func() bool { return ok.count("w") == 1 })
	times, nums := log.get("w")
	if fmt.Sprint(nums) != "[1 2 3]" {
		t.Fatalf("attempts %v, want [1 2 3]", nums)
	}
	if gap := times[1].Sub(times[0]); gap > 200*time.Millisecond {
		t.Errorf("immediate retry came after %s", gap)
	}
	low, high := time.Duration(float64(policy.Delay)*(1-policy.Jitter)), time.Duration(float64(policy.Delay)*(1+policy.Jitter))+500*time.Millisecond
	if gap := times[2].Sub(times[1]); gap < low || gap > high {
		t.Errorf("delayed retry came after %s, want %s to %s", gap, low, high)
	}
	if n := len(errorStreamMessages(t, c)); n != 0 {
		t.Errorf("%d messages in the error stream, want none", n)
	}
}

// A handler that always fails is tried 1 + immediate + delayed times, then
// its message is in the error stream once, with failure headers, and gone
// from its queue. Healthy messages sent alongside are handled meanwhile,
// on one concurrency slot: the waiting message holds none.
func TestAlwaysFailingMessageMovesToErrorStream(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	log, ok := newAttemptLog(), newCounter()
	policy := gobus.RetryPolicy{Immediate: 2, Delayed: 2, Delay: 100 * time.Millisecond, MaxDelay: time.Second}
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, failingWorker(log, ok))
	}, gobus.WithRetryPolicy(policy), gobus.WithConcurrency(1))
	ctx := context.Background()
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "poison", FailTimes: 1 << 20}, gobus.WithMessageID("poison-id")); err != nil {
		t.Fatal(err)
	}
	const healthy = 100
	for i := range healthy {
		if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the failing message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	waitFor(t, "the healthy messages handled", func() bool { return ok.distinct() == healthy })
	if _, nums := log.get("poison"); len(nums) != policy.MaxAttempts() {
		t.Errorf("failing message tried %d times (%v), want %d", len(nums), nums, policy.MaxAttempts())
	}
	failed := errorStreamMessages(t, c)[0]
	want := map[string]string{
		"ce-id":                 "poison-id",
		"ce-type":               gobustestv1.WorkType,
		"gobus-failed-endpoint": "worker",
		"gobus-failed-subject":  "gobus.cmd.worker.gobustest.v1.Work",
		"gobus-failed-stream":   "gobus_queue_worker",
		"gobus-failed-sequence": "1",
		"gobus-attempts":        "5",
		"gobus-error-kind":      "handler",
		"gobus-error-type":      "*errors.errorString",
		"gobus-error-message":   "work poison fails on attempt 5",
	}
	for k, v := range want {
		if got := failed.Header.Get(k); got != v {
			t.Errorf("error copy header %s = %q, want %q", k, got, v)
		}
	}
	if _, err := time.Parse(time.RFC3339, failed.Header.Get("gobus-failed-at")); err != nil {
		t.Errorf("gobus-failed-at: %v", err)
	}
	var body gobustestv1.Work
	if err := proto.Unmarshal(failed.Data, &body); err != nil || body.GetId() != "poison" {
		t.Errorf("error copy body: %v %v", &body, err)
	}
	waitFor(t, "the queue empty", func() bool { return streamMsgs(t, c, "gobus_queue_worker") == 0 })
}

// Messages that cannot be handled skip the retries: each reaches the
// error stream at once with a reason naming the problem, and the endpoint
// keeps handling the messages after them.
func TestPoisonMessagesSkipRetries(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	ok := newCounter()
	tries := newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			tries.add(w.GetId())
			switch w.GetId() {
			case "panic":
				panic("boom")
			case "unrecoverable":
				return gobus.Unrecoverable(errors.New("order total is negative"))
			}
			ok.add(w.GetId())
			return nil
		}))
	}, gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 3, Delayed: 3, Delay: time.Hour, MaxDelay: time.Hour}))
	ctx := context.Background()
	js := c.JetStream()
	subject := "gobus.cmd.worker.gobustest.v1.Work"
	work := func(id string) []byte { b, _ := proto.Marshal(&gobustestv1.Work{Id: id}); return b }

	publish := func(m *nats.Msg) {
		t.Helper()
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	publish(rawMessage(subject, "garbage", gobustestv1.WorkType, "application/protobuf", []byte{0xff, 0xff, 0xff}))
	publish(rawMessage(subject, "unknown", "gobustest.v1.Nope", "application/protobuf", work("x")))
	publish(&nats.Msg{Subject: subject, Data: work("no-headers")})
	publish(rawMessage(subject, "wrong-content-type", gobustestv1.WorkType, "text/xml", work("x")))
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "panic"}); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "unrecoverable"}); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "healthy"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "six messages in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 6 })
	waitFor(t, "the healthy message handled", func() bool { return ok.count("healthy") == 1 })

	wantKinds := map[uint64][2]string{ // by original sequence: kind, text in the message
		1: {"decode", "not a valid gobustest.v1.Work"},
		2: {"unknown-type", `no handler for message type "gobustest.v1.Nope"`},
		3: {"malformed", "missing CloudEvents header ce-specversion, ce-id, ce-type, ce-source"},
		4: {"decode", `unsupported content-type "text/xml"`},
		5: {"panic", "handler panicked: boom"},
		6: {"unrecoverable", "order total is negative"},
	}
	for _, m := range errorStreamMessages(t, c) {
		seq, _ := strconv.ParseUint(m.Header.Get("gobus-failed-sequence"), 10, 64)
		want, found := wantKinds[seq]
		if !found {
			t.Errorf("unexpected error copy of sequence %d", seq)
			continue
		}
		if kind := m.Header.Get("gobus-error-kind"); kind != want[0] {
			t.Errorf("sequence %d: kind %q, want %q", seq, kind, want[0])
		}
		if msg := m.Header.Get("gobus-error-message"); !strings.Contains(msg, want[1]) {
			t.Errorf("sequence %d: message %q does not name the problem (%q)", seq, msg, want[1])
		}
		if a := m.Header.Get("gobus-attempts"); a != "1" {
			t.Errorf("sequence %d: %s attempts, want 1", seq, a)
		}
		if seq == 5 && !strings.Contains(m.Header.Get("gobus-error-stack"), "goroutine") {
			t.Errorf("panic copy has no stack: %q", m.Header.Get("gobus-error-stack"))
		}
	}
	if tries.count("panic") != 1 || tries.count("unrecoverable") != 1 {
		t.Errorf("panic tried %d times, unrecoverable %d times; want once each", tries.count("panic"), tries.count("unrecoverable"))
	}
}

// A per-type policy overrides the endpoint's.
func TestRetryPolicyForOneType(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	log, ok := newAttemptLog(), newCounter()
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, failingWorker(log, ok))
	}, gobus.WithRetryPolicy(gobus.DefaultRetryPolicy()), gobus.WithRetryPolicyFor(gobustestv1.WorkType, gobus.NoRetries()))
	if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "w", FailTimes: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message in the error stream", func() bool { return len(errorStreamMessages(t, c)) == 1 })
	if _, nums := log.get("w"); len(nums) != 1 {
		t.Errorf("tried %v, want once", nums)
	}
}
