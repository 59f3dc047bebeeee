package gobus

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/nats-io/nats.go/jetstream"
)

// call runs the handler, turning a panic into an error with its stack.
func (ep *Endpoint) call(ctx context.Context, reg *registration, mc *MessageContext, msg jetstream.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: string(debug.Stack())}
		}
	}()
	return reg.handle(ctx, mc, mc.env.Data, mc.env.ContentType)
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
