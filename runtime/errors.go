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
	// ErrClosed is returned, wrapped, when a closed client is used.
	ErrClosed = errors.New("gobus: client closed")

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
