package gobustest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gobus "github.com/gobusdev/gobus/runtime"
)

// SagaScenario runs a saga's handlers on instances kept in memory and on
// a virtual clock, with no server: [SagaScenario.Handle] gives it one
// message, and [SagaScenario.AdvanceTime] fires the timeouts that come
// due. Each step runs as the endpoint would run it ([gobus.Saga.Apply]):
// the instance the message's correlation value finds, or the one that
// requested a timeout, is handed to its handler, and what the handler
// emitted is in the step's [SagaResult].
//
// A SagaScenario is not safe for concurrent use.
type SagaScenario[S proto.Message] struct {
	saga      *gobus.Saga[S]
	endpoint  string
	now       time.Time
	instances map[string]*gobus.SagaInstance[S] // by correlation value
	keys      map[string]string                 // instance id to correlation value
	pending   []Timeout
	seq       int
}

// Timeout is a timeout a saga instance requested, on the virtual clock.
type Timeout struct {
	// InstanceID is the instance that requested it.
	InstanceID string
	// Message is the timeout message.
	Message proto.Message
	// Due is when it fires on the scenario's clock.
	Due time.Time
	// ScheduledID is the id of its schedule.
	ScheduledID string
	seq         int
}

// SagaResult is what one step of a scenario did.
type SagaResult[S proto.Message] struct {
	// Message is the message handled.
	Message proto.Message
	// Outcome is what it did to the saga.
	Outcome gobus.SagaOutcome
	// Instance is the instance after the step: nil once it completed, or
	// when none was found. After an error it is as it was.
	Instance *gobus.SagaInstance[S]
	// Err is the handler's error; the step then changed nothing, and what
	// the handler sent was dropped, as an endpoint drops it.
	Err error
	// Context holds what the handler sent, published, replied and
	// requested: read it with [Sent], [Published], [Replied] and
	// [Scheduled].
	Context *gobus.MessageContext
	// Timeouts are the timeouts the step requested, with their due times.
	Timeouts []Timeout
}

// SagaOption configures a [SagaScenario].
type SagaOption func(*sagaConfig)

type sagaConfig struct {
	endpoint string
	start    time.Time
}

// SagaEndpoint names the endpoint hosting the saga, where its timeouts
// are sent; by default "test".
func SagaEndpoint(name string) SagaOption { return func(c *sagaConfig) { c.endpoint = name } }

// SagaClock starts the virtual clock at t; by default at
// 2026-01-01T00:00:00Z, so that the times a test sees do not change.
func SagaClock(t time.Time) SagaOption { return func(c *sagaConfig) { c.start = t } }

// NewSagaScenario returns a scenario of saga, such as the one a generated
// NewXSaga function returns, with no instances.
func NewSagaScenario[S proto.Message](saga *gobus.Saga[S], opts ...SagaOption) *SagaScenario[S] {
	cfg := sagaConfig{endpoint: "test", start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&cfg)
	}
	return &SagaScenario[S]{saga: saga, endpoint: cfg.endpoint, now: cfg.start,
		instances: map[string]*gobus.SagaInstance[S]{}, keys: map[string]string{}}
}

// Now returns the time on the scenario's clock.
func (s *SagaScenario[S]) Now() time.Time { return s.now }

// Instance returns the live instance of correlation value key, or nil.
func (s *SagaScenario[S]) Instance(key string) *gobus.SagaInstance[S] { return s.instances[key] }

// Timeouts returns the timeouts requested and not yet fired nor
// cancelled, in the order they come due.
func (s *SagaScenario[S]) Timeouts() []Timeout { return slices.Clone(s.pending) }

// Handle has the saga handle msg now, as one of its commands or events
// arriving with what opts say (its time is the scenario's clock).
func (s *SagaScenario[S]) Handle(msg proto.Message, opts ...ContextOption) *SagaResult[S] {
	key, err := s.saga.Key(msg)
	if err != nil {
		return &SagaResult[S]{Message: msg, Err: err, Context: NewContext(msg)}
	}
	return s.apply(key, s.instances[key], msg, opts)
}

// AdvanceTime moves the clock on by d, firing each timeout that comes
// due, in the order they are due (in the order requested when due
// together), at its due time, to the instance that requested it. A
// timeout requested by a fired one fires too if it comes due within d. It
// returns the results of the timeouts fired.
func (s *SagaScenario[S]) AdvanceTime(d time.Duration) []*SagaResult[S] {
	until := s.now.Add(d)
	var results []*SagaResult[S]
	for len(s.pending) > 0 && !s.pending[0].Due.After(until) {
		t := s.pending[0]
		s.pending = s.pending[1:]
		s.now = t.Due
		key := s.keys[t.InstanceID]
		inst := s.instances[key]
		if inst != nil && inst.ID != t.InstanceID {
			inst = nil
		}
		results = append(results, s.apply(key, inst, t.Message, nil))
	}
	s.now = until
	return results
}

func (s *SagaScenario[S]) apply(key string, inst *gobus.SagaInstance[S], msg proto.Message, opts []ContextOption) *SagaResult[S] {
	mc := NewContext(msg, append([]ContextOption{WithEndpoint(s.endpoint), WithTime(s.now)}, opts...)...)
	next, outcome, err := s.saga.Apply(context.Background(), mc, inst, msg)
	r := &SagaResult[S]{Message: msg, Outcome: outcome, Instance: next, Err: err, Context: mc}
	if err != nil {
		r.Instance = inst
		return r
	}
	if inst != nil && next == nil {
		delete(s.instances, key)
		s.drop(func(t Timeout) bool { return t.InstanceID == inst.ID })
	}
	if next != nil {
		s.instances[key] = next
		s.keys[next.ID] = key
	}
	for _, id := range mc.RecordedCancels() {
		s.drop(func(t Timeout) bool { return t.ScheduledID == id })
	}
	for _, rec := range mc.Recorded() {
		if rec.DeliverAt().IsZero() || !s.saga.IsTimeout(rec.Route.Type) {
			continue
		}
		s.seq++
		// The runtime holds a timeout back until a time it computes from
		// the wall clock; the scenario counts its delay in milliseconds.
		t := Timeout{Message: rec.Message, Due: s.now.Add(rec.Delay.Round(time.Millisecond)), ScheduledID: rec.ScheduledID, seq: s.seq}
		if next != nil {
			t.InstanceID = next.ID
			s.pending = append(s.pending, t)
		}
		r.Timeouts = append(r.Timeouts, t)
	}
	slices.SortStableFunc(s.pending, func(a, b Timeout) int { return a.Due.Compare(b.Due) })
	return r
}

func (s *SagaScenario[S]) drop(gone func(Timeout) bool) {
	s.pending = slices.DeleteFunc(s.pending, gone)
}

// Expect fails the test unless the step succeeded with outcome, saying
// what the step did; it returns r, for chaining.
func (r *SagaResult[S]) Expect(t testing.TB, outcome gobus.SagaOutcome) *SagaResult[S] {
	t.Helper()
	if r.Err != nil || r.Outcome != outcome {
		t.Fatalf("gobustest: %s gave %s, want %s; it recorded:\n%s", describe(r.Message), r.describeOutcome(), outcome, Describe(r.Context))
	}
	return r
}

func (r *SagaResult[S]) describeOutcome() string {
	if r.Err != nil {
		return fmt.Sprintf("error %q", r.Err)
	}
	if r.Outcome == 0 {
		return "no outcome"
	}
	return "outcome " + r.Outcome.String()
}
