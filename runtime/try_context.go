package gobus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// tryContext is the context of one handler try: the pump's context, ended
// early by the try (when the handler returns, or at its max handling time).
// It behaves as context.WithCancelCause(parent) does, but costs no
// allocation and no lock on the parent until something needs a standard
// context: a call of Done (a select on it, a derived context, an
// AfterFunc), or an end with a cause of its own (a *TimeoutError), which
// only a standard context can hand to context.Cause. From then on it
// answers through that one. Handlers that never wait on their context,
// the common case of short handlers, never pay for one.
//
// Until then, context.Cause finds what a standard child would give: nil
// while neither has ended; the parent's cause if the parent ended first;
// context.Canceled if the try did (Cause falls back to Err when the
// nearest standard context, the parent, has no cause).
type tryContext struct {
	parent context.Context
	std    atomic.Value // context.Context: the standard context, once made
	ended  atomic.Bool  // ended by the try

	mu     sync.Mutex // guards making std, ending, and cancel
	cancel context.CancelCauseFunc
	cause  error // why the try ended, once it has
}

func newTryContext(parent context.Context) tryContext { return tryContext{parent: parent} }

func (c *tryContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *tryContext) Done() <-chan struct{} {
	if std := c.standardIfMade(); std != nil {
		return std.Done()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.standard().Done()
}

func (c *tryContext) Err() error {
	if std := c.standardIfMade(); std != nil {
		return std.Err()
	}
	if c.ended.Load() {
		return context.Canceled
	}
	return c.parent.Err()
}

func (c *tryContext) Value(key any) any {
	if std := c.standardIfMade(); std != nil {
		return std.Value(key)
	}
	return c.parent.Value(key)
}

func (c *tryContext) String() string { return "gobus try context" }

func (c *tryContext) standardIfMade() context.Context {
	std, _ := c.std.Load().(context.Context)
	return std
}

// standard is the standard context c stands for, made on first use and
// ended already if c has. c.mu is held.
func (c *tryContext) standard() context.Context {
	if std := c.standardIfMade(); std != nil {
		return std
	}
	std, cancel := context.WithCancelCause(c.parent)
	if c.ended.Load() {
		cancel(c.cause)
	}
	c.cancel = cancel
	c.std.Store(std)
	return std
}

// end ends c with cause (context.Canceled if nil), as a
// context.CancelCauseFunc does; later calls do nothing.
func (c *tryContext) end(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended.Load() {
		return
	}
	if cause == nil {
		cause = context.Canceled
	}
	c.cause = cause
	if c.cancel == nil && cause != context.Canceled {
		c.standard() // a cause of its own, which context.Cause must find
	}
	c.ended.Store(true)
	if c.cancel != nil {
		c.cancel(cause)
	}
}
