package gobus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/wire"
)

// Limits on failure header values, which travel with every failed message.
const (
	maxErrorMessage = 4 << 10
	maxErrorStack   = 16 << 10
)

// moveToErrors copies msg to the error stream with failure headers and,
// once the copy is stored, terminates the original. If the copy cannot be
// stored, the original is left for a later delivery: never lost.
func (ep *Endpoint) moveToErrors(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error, attempts int) {
	copyMsg := ep.errorCopy(msg, meta, cause, attempts)
	// Store the copy even while stopping: the decision is made.
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := ep.client.js.PublishMsg(storeCtx, copyMsg); err != nil {
		ep.log.Error("gobus: storing a failed message in the error stream failed; it will be delivered again",
			messageLogAttrs(msg, attempts, "subject", msg.Subject(), "error", err, "cause", errorText(cause))...)
		_ = msg.NakWithDelay(ep.cfg.retry.Delay + time.Second)
		return
	}
	kind := copyMsg.Header.Get(wire.HeaderErrorKind)
	ep.metrics.movedToErrors(ctx, msg.Headers().Get(wire.HeaderType), kind)
	if err := msg.TermWithReason("gobus: moved to the error stream (" + kind + ")"); err != nil {
		ep.log.Warn("gobus: terminating a message moved to the error stream failed; its next delivery moves it again, de-duplicated",
			messageLogAttrs(msg, attempts, "subject", msg.Subject(), "error", err)...)
	}
	ep.log.Error("gobus: message moved to the error stream",
		messageLogAttrs(msg, attempts, "kind", kind, "error", errorText(cause))...)
}

// errorCopy is the error stream's copy of msg: its body and headers, plus
// the failure headers. Its de-duplication id names the original stream
// message, so moving one message twice stores one copy.
func (ep *Endpoint) errorCopy(msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error, attempts int) *nats.Msg {
	h := nats.Header{}
	for k, vs := range msg.Headers() {
		if strings.HasPrefix(k, "Nats-") {
			continue // server instructions of the original publish
		}
		h[k] = append([]string(nil), vs...)
	}
	h.Set(wire.HeaderFailedEndpoint, ep.name)
	h.Set(wire.HeaderFailedSubject, msg.Subject())
	h.Set(wire.HeaderFailedStream, meta.Stream)
	h.Set(wire.HeaderFailedSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
	h.Set(wire.HeaderFailedAt, time.Now().UTC().Format(time.RFC3339))
	h.Set(wire.HeaderAttempts, strconv.Itoa(attempts))
	h.Set(wire.HeaderErrorKind, errorKind(cause))
	h.Set(wire.HeaderErrorType, errorType(cause))
	h.Set(nats.MsgIdHdr, fmt.Sprintf("failed:%s:%s:%d", ep.name, meta.Stream, meta.Sequence.Stream))
	m := &nats.Msg{Subject: ep.client.names.ErrorSubject(ep.name), Header: h, Data: msg.Data()}
	var stack string
	var p *PanicError
	if errors.As(cause, &p) {
		stack = p.Stack
	}
	fitErrorText(m, errorText(cause), stack, ep.client.nc.MaxPayload())
	return m
}

// fitErrorText sets the error message and stack headers of the error copy
// m, cut to their limits and, if need be, further so that m fits what the
// server stores: the copy is the original plus the failure headers, and
// the original may have been close to the max payload or to JetStream's
// limit on headers. The stack gives way first. If even the failure headers
// without text do not fit, storing the copy fails and the original waits
// in its stream.
func fitErrorText(m *nats.Msg, message, stack string, maxPayload int64) {
	m.Header.Set(wire.HeaderErrorMessage, wire.HeaderValue(message, maxErrorMessage))
	if stack != "" {
		m.Header.Set(wire.HeaderErrorStack, wire.HeaderValue(stack, maxErrorStack))
	}
	for _, f := range []struct{ name, text string }{{wire.HeaderErrorStack, stack}, {wire.HeaderErrorMessage, message}} {
		headers, payload := msgSize(m)
		over := headers - maxHeaderBlock
		if maxPayload > 0 {
			over = max(over, int(int64(payload)-maxPayload))
		}
		if over <= 0 {
			return
		}
		v := m.Header.Get(f.name)
		if v == "" {
			continue
		}
		if keep := len(v) - over; keep > 0 {
			m.Header.Set(f.name, wire.HeaderValue(f.text, keep))
		} else {
			m.Header.Del(f.name)
		}
	}
}

// Error kinds, written in gobus-error-kind.
const (
	kindMalformed     = "malformed"
	kindWrongSubject  = "wrong-subject"
	kindUnknownType   = "unknown-type"
	kindDecode        = "decode"
	kindPanic         = "panic"
	kindUnimplemented = "unimplemented"
	kindUnrecoverable = "unrecoverable"
	kindExhausted     = "exhausted-deliveries"
	kindTooLarge      = "too-large"
	kindTimeout       = "timeout"
	kindHandler       = "handler"
)

// errorKind classifies a failure for operators and tools.
func errorKind(err error) string {
	var p *PanicError
	var d *decodeError
	var u *UnrecoverableError
	var x *exhaustedError
	var t *TimeoutError
	switch {
	case errors.Is(err, wire.ErrMalformed):
		return kindMalformed
	case errors.Is(err, errWrongSubject):
		return kindWrongSubject
	case errors.Is(err, ErrNoRoute):
		return kindUnknownType
	case errors.As(err, &d):
		return kindDecode
	case errors.As(err, &p):
		return kindPanic
	case errors.Is(err, ErrUnimplemented):
		return kindUnimplemented
	case errors.Is(err, ErrTooLarge):
		return kindTooLarge
	case errors.As(err, &u):
		return kindUnrecoverable
	case errors.As(err, &x):
		return kindExhausted
	case errors.As(err, &t):
		return kindTimeout
	}
	return kindHandler
}

// errorType names the Go type of the error, looking through fmt's and
// gobus's wrappers, for diagnostics.
func errorType(err error) string {
	for {
		name := fmt.Sprintf("%T", err)
		next := errors.Unwrap(err)
		switch {
		case next == nil:
			return name
		case name == "*fmt.wrapError", name == "*gobus.UnrecoverableError":
			err = next
		default:
			return name
		}
	}
}
