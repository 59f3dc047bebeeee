package gobus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultMaxHandlingTime is how long a handler may work on one message
// unless [WithMaxHandlingTime] says otherwise.
const DefaultMaxHandlingTime = 5 * time.Minute

// WithMaxHandlingTime bounds how long a handler may work on one message,
// per try. The handler's context ends at that time, with a
// [*TimeoutError] as its cause, and the try counts as a failure under the
// retry policy. A handler that ignores its context and goes on running is
// given up a second later: its message is no longer reported in progress,
// it is retried after a delay or moved to the error stream (kind
// "timeout") as the policy says, and whatever the handler does when it
// finally returns is dropped. Such handlers are logged. The default is
// [DefaultMaxHandlingTime].
func WithMaxHandlingTime(d time.Duration) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.maxHandling = d })
}

// WithMaxHandlingTimeFor sets the max handling time of one message type (a
// proto full name, such as the generated PlaceOrderType constant),
// overriding [WithMaxHandlingTime].
func WithMaxHandlingTimeFor(messageType string, d time.Duration) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) {
		if c.maxHandlingFor == nil {
			c.maxHandlingFor = map[string]time.Duration{}
		}
		c.maxHandlingFor[messageType] = d
	})
}

// TimeoutError is the failure of a handler that ran past its max handling
// time: the cause of its context's end, and what the retry policy sees.
type TimeoutError struct {
	// Limit is the max handling time that passed.
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the handler ran longer than its max handling time of %s", e.Limit)
}

// Is makes errors.Is(err, context.DeadlineExceeded) true, as for any
// context deadline.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// overrunGrace is how long a handler whose context ended at its max
// handling time has to return before it is given up.
const overrunGrace = time.Second

var timeZero time.Time

// States of a try.
const (
	tryRunning int32 = iota
	tryReturned
	tryAbandoned
)

// handlerTry is one call of a handler under its max handling time. The
// worker and the pump's watch race to settle it: the worker when the
// handler returns, the watch when it does not.
type handlerTry struct {
	ep       *Endpoint
	d        *delivery
	ctx      context.Context // &tc
	tc       tryContext
	deadline time.Time
	limit    time.Duration
	state    atomic.Int32
}

// newTry starts try number try (0 the first) of d's handler. The first
// lives in d's allocation; a later one has its own, since the watch may
// still hold the one before (overrun reads its state after giving up).
func (ep *Endpoint) newTry(ctx context.Context, d *delivery, try int) *handlerTry {
	limit := ep.maxHandlingFor(d.reg.route.Type)
	t := &d.first
	if try > 0 {
		t = new(handlerTry)
	}
	t.ep, t.d, t.limit, t.deadline = ep, d, limit, time.Now().Add(limit)
	t.tc = newTryContext(ctx)
	t.ctx = &t.tc
	return t
}

// cancel ends the try's context with cause.
func (t *handlerTry) cancel(cause error) { t.tc.end(cause) }

// maxHandlingFor is the max handling time of a message type.
func (ep *Endpoint) maxHandlingFor(typ string) time.Duration {
	if d, ok := ep.cfg.maxHandlingFor[typ]; ok {
		return d
	}
	return ep.cfg.maxHandling
}

// returned settles t from the worker's side; false means the watch gave
// up on the handler first.
func (t *handlerTry) returned() bool { return t.state.CompareAndSwap(tryRunning, tryReturned) }

// outcome is the try's error as the retry policy sees it: a handler that
// returned because its context ended at the max handling time failed with
// a [*TimeoutError].
func (t *handlerTry) outcome(err error) error {
	if err == nil || !errors.Is(err, context.Canceled) {
		return err
	}
	return t.timedOut(err)
}

// timedOut is outcome's slow path, apart so that te is allocated only
// for a handler that failed with its context ended.
func (t *handlerTry) timedOut(err error) error {
	var te *TimeoutError
	if errors.As(context.Cause(t.ctx), &te) {
		return te
	}
	return err
}

// overrun is the pump's call for a handler past its deadline: end its
// context, give it a moment to return, then settle its message as failed.
func (ep *Endpoint) overrun(token any) {
	t, ok := token.(*handlerTry)
	if !ok {
		return
	}
	te := &TimeoutError{Limit: t.limit}
	t.cancel(te)
	until := time.Now().Add(overrunGrace)
	for t.state.Load() == tryRunning && time.Now().Before(until) {
		time.Sleep(5 * time.Millisecond) // the rare path; the worker is busy
	}
	if !t.state.CompareAndSwap(tryRunning, tryAbandoned) {
		return
	}
	t.d.release()
	ep.hung.Add(1)
	ep.log.Error("gobus: a handler ignores its context and still runs past its max handling time; this instance gives its message up",
		t.d.logAttrs("max_handling_time", t.limit, "handlers_hung", ep.hung.Load())...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep.retryLater(ctx, t.d, te)
}

func (c *endpointConfig) validateMaxHandling() error {
	if c.maxHandling < 10*time.Millisecond {
		return invalidf("WithMaxHandlingTime(%s): use at least 10ms", c.maxHandling)
	}
	for typ, d := range c.maxHandlingFor {
		if d < 10*time.Millisecond {
			return invalidf("WithMaxHandlingTimeFor(%q, %s): use at least 10ms", typ, d)
		}
	}
	return nil
}
