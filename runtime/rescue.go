package gobus

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// rescue is the last resort for a panic in handling outside the handler
// itself: in an error value's methods, in formatting, in dispatch. The
// message moves to the error stream as a panic; if even that panics, it
// is left for a delayed delivery. The process never dies of a message.
func (ep *Endpoint) rescue(ctx context.Context, msg jetstream.Msg, value any) {
	stack := string(debug.Stack())
	defer func() {
		if r := recover(); r != nil {
			ep.log.Error("gobus: moving a message to the error stream panicked; it will be delivered again", messageLogAttrs(msg, 0, "panic", fmt.Sprint(r))...)
			_ = msg.NakWithDelay(ep.cfg.retry.Delay + time.Second)
		}
	}()
	ep.log.Error("gobus: handling a message panicked outside its handler; moving it to the error stream", messageLogAttrs(msg, 0, "panic", fmt.Sprint(value))...)
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Nak()
		return
	}
	ep.moveToErrors(ctx, msg, meta, &PanicError{Value: fmt.Sprint(value), Stack: stack}, int(meta.NumDelivered))
}

// errorText is err's message, safely: an error value whose Error method
// panics (a typed nil pointer whose method reads a field, say) is
// described by its type and the panic instead.
func errorText(err error) (text string) {
	if err == nil {
		return ""
	}
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("%T whose Error method panicked: %v", err, r)
		}
	}()
	return err.Error()
}
