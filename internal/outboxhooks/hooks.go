// Package outboxhooks lets the outbox's crash tests stop a process at the
// points where a crash matters. Nothing but those tests sets Point.
package outboxhooks

// The points at which the outbox calls Point, in the order of one
// handling.
const (
	// Written: the handler returned, its writes and outgoing messages are
	// in the transaction, not committed.
	Written = "written"
	// Committed: the transaction is committed, nothing dispatched.
	Committed = "committed"
	// Dispatched: the stored messages are in JetStream, the incoming
	// message not acknowledged.
	Dispatched = "dispatched"
	// SessionCommitted: a session's transaction is committed, nothing
	// dispatched.
	SessionCommitted = "session-committed"
)

// Point, when set, is called at each point with its name and the id of
// the incoming message ("" for a session).
var Point func(point, id string)

// At calls Point if it is set.
func At(point, id string) {
	if Point != nil {
		Point(point, id)
	}
}
