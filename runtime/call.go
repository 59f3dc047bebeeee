package gobus

import (
	"context"
	"fmt"
	"runtime/debug"

	"google.golang.org/protobuf/proto"
)

// call runs the handling chain on msg, turning a panic in a handler or a
// middleware into an error with its stack.
func (ep *Endpoint) call(ctx context.Context, mc *MessageContext, msg proto.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: string(debug.Stack())}
		}
	}()
	return ep.handle(ctx, mc, msg)
}

// runHandler is the innermost link of the handling chain: the registered
// handler, then the dispatch of what it sent.
func runHandler(ctx context.Context, mc *MessageContext, msg proto.Message) error {
	if err := mc.reg.call(ctx, mc, msg); err != nil {
		return err
	}
	return mc.flush(ctx)
}

// buildChains composes the endpoint's handling and dispatch chains: the
// client's middleware outside the endpoint's.
func (ep *Endpoint) buildChains() {
	c := ep.client
	ep.handle = chain(runHandler, []Middleware{c.cfg.tracing.handling, ep.metrics.handling, ep.claimScheduled, ep.auditing}, c.cfg.middleware, ep.cfg.middleware)
	ep.dispatch = dispatchChain(storeOutgoing, []DispatchMiddleware{c.cfg.tracing.dispatch}, c.cfg.dispatchMiddleware, ep.cfg.dispatchMiddleware)
}

// PanicError is a panic in a handler, caught and treated as a failure.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// exhaustedError is a message delivered more often than its policy allows
// without an outcome, or one that died alone as a suspect too often.
type exhaustedError struct {
	deliveries int
	alone      int
}

func (e *exhaustedError) Error() string {
	if e.alone > 0 {
		return fmt.Sprintf("the process handling this message died or hung %d times while it ran alone (delivered %d times): it is likely what kills the process", e.alone, e.deliveries)
	}
	return fmt.Sprintf("delivered %d times without an outcome: the process handling it may be crashing or timing out", e.deliveries)
}
