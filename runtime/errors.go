package gobus

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidOption is returned, wrapped, for configuration that cannot
	// work: it is found when a client or endpoint starts, not at the first
	// message.
	ErrInvalidOption = errors.New("gobus: invalid option")
	// ErrUnimplemented is returned, wrapped, by the handlers of generated
	// Unimplemented types.
	ErrUnimplemented = errors.New("gobus: handler not implemented")
	// ErrNoRoute is returned, wrapped, when a message's type has no route.
	ErrNoRoute = errors.New("gobus: no route")
	// ErrStarted is returned, wrapped, when an endpoint is changed after it
	// started, or started twice.
	ErrStarted = errors.New("gobus: endpoint already started")
	// ErrHandlerReturned is returned, wrapped, by a [MessageContext]'s
	// Dispatch (under the generated SendX, PublishX and ReplyX) and
	// CancelScheduled once its handler has returned: what the handler's
	// goroutines give it then would go with no incoming message, so it is
	// refused rather than dropped. Send before the handler returns, or
	// through the [Client] for work that outlives it.
	ErrHandlerReturned = errors.New("gobus: the handler has returned")
	// ErrClosed is returned, wrapped, when a closed client is used.
	ErrClosed = errors.New("gobus: client closed")
	// ErrConnectionClosed is returned, wrapped, when the client's NATS
	// connection is closed for good (the server refused it, or it was
	// closed under the client): sends fail with it, and [Endpoint.Run]
	// ends with it.
	ErrConnectionClosed = errors.New("gobus: NATS connection closed")
	// ErrTooLarge is returned, wrapped, when a message is larger than the
	// server takes: headers and body over the NATS server's max payload,
	// or headers over the 65535 bytes JetStream stores. The error says the
	// message's type, its size and the limit, and nothing was sent. A
	// handler whose outgoing message is too large fails without retries
	// (error kind "too-large"), since retrying cannot shrink it.
	ErrTooLarge = errors.New("gobus: message too large")

	// errWrongSubject is a message whose type does not belong on its
	// subject.
	errWrongSubject = errors.New("message type does not match its subject")
)

// UnimplementedError is what the handler of a generated Unimplemented type
// returns for a message of type messageType.
func UnimplementedError(messageType string) error {
	return fmt.Errorf("%w: %s", ErrUnimplemented, messageType)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}
