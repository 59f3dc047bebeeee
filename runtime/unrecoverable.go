package gobus

import (
	"errors"

	"github.com/gobusdev/gobus/internal/wire"
)

// UnrecoverableError marks a failure that retrying cannot fix, such as a
// message that breaks a business rule. The message goes to the error
// stream at once.
type UnrecoverableError struct {
	Err error
}

// Unrecoverable wraps err so that the message skips its retries and goes
// to the error stream at once. Unrecoverable(nil) is nil.
func Unrecoverable(err error) error {
	if err == nil {
		return nil
	}
	return &UnrecoverableError{Err: err}
}

func (e *UnrecoverableError) Error() string { return "unrecoverable: " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UnrecoverableError) Unwrap() error { return e.Err }

// isUnrecoverable reports whether the message skips its retries: retrying
// cannot help (a handler's outgoing message too large for the server
// would be as large on every try), or (a panic) the handler is in a state
// nobody planned for.
func isUnrecoverable(err error) bool {
	var u *UnrecoverableError
	var d *decodeError
	var p *PanicError
	return errors.As(err, &u) || errors.As(err, &d) || errors.As(err, &p) || errors.Is(err, wire.ErrMalformed) ||
		errors.Is(err, errWrongSubject) ||
		errors.Is(err, ErrUnimplemented) || errors.Is(err, ErrNoRoute) ||
		errors.Is(err, ErrTooLarge)
}
