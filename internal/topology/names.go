// Package topology names the JetStream streams, subjects and consumers of
// gobus and creates them. docs/wire.md documents the same names.
package topology

import (
	"fmt"
	"regexp"
)

// DefaultPrefix is the subject and stream prefix when none is configured.
const DefaultPrefix = "gobus"

var tokenPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// ValidToken reports whether s can be an endpoint name or a prefix: one NATS
// subject token that is also a valid stream and consumer name.
func ValidToken(s string) bool { return tokenPattern.MatchString(s) }

// CheckToken returns an error naming what is wrong with s, used as what.
func CheckToken(what, s string) error {
	if !ValidToken(s) {
		return fmt.Errorf("%s %q is not a valid NATS subject token: use up to 64 letters, digits, '-' and '_', starting with a letter", what, s)
	}
	return nil
}

// Names computes every stream, subject and consumer name under one prefix.
type Names struct {
	Prefix string
}

// QueueStream is endpoint's queue: the WorkQueue stream that holds the
// commands sent to it and the messages retried for it.
func (n Names) QueueStream(endpoint string) string {
	return n.Prefix + "_queue_" + endpoint
}

// CommandSubject is the subject of a command for endpoint; suffix is the
// message's proto full name or its subject override.
func (n Names) CommandSubject(endpoint, suffix string) string {
	return n.Prefix + ".cmd." + endpoint + "." + suffix
}

// CommandSubjects is the subject filter of endpoint's commands.
func (n Names) CommandSubjects(endpoint string) string {
	return n.Prefix + ".cmd." + endpoint + ".>"
}

// RetrySubject is where an operator's retry sends a failed event back to
// the one endpoint that failed it, not to every subscriber.
func (n Names) RetrySubject(endpoint string) string {
	return n.Prefix + ".retry." + endpoint
}

// EventsStream is the stream that holds every event.
func (n Names) EventsStream() string { return n.Prefix + "_events" }

// EventSubject is the subject of an event; suffix is the message's proto
// full name or its subject override.
func (n Names) EventSubject(suffix string) string { return n.Prefix + ".evt." + suffix }

// EventSubjects is the subject filter of the events stream.
func (n Names) EventSubjects() string { return n.Prefix + ".evt.>" }

// ErrorsStream is the stream that holds messages that failed for good.
func (n Names) ErrorsStream() string { return n.Prefix + "_errors" }

// ErrorSubject is the subject of endpoint's failed messages.
func (n Names) ErrorSubject(endpoint string) string { return n.Prefix + ".err." + endpoint }

// ErrorSubjects is the subject filter of the errors stream.
func (n Names) ErrorSubjects() string { return n.Prefix + ".err.>" }

// Consumer is the durable consumer name of endpoint, on its queue stream
// and on the events stream alike.
func (n Names) Consumer(endpoint string) string { return endpoint }
