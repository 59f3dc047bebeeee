// Package topology names the JetStream streams, subjects and consumers of
// gobus and creates them. docs/wire.md documents the same names.
package topology

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultPrefix is the subject and stream prefix when none is configured.
const DefaultPrefix = "gobus"

// tokenPattern is an endpoint name: one NATS subject token of at most
// MaxTokenLength characters that is also a valid stream and consumer name.
var tokenPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// prefixPattern is a prefix: an endpoint name without '_'. Stream names
// join the prefix and the rest with '_', so a prefix without one keeps
// them apart: with '_' allowed, prefix "cx_queue"'s events stream and
// prefix "cx"'s queue of endpoint "events" would both be
// "cx_queue_events".
var prefixPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)

// ValidToken reports whether s can be an endpoint name: one NATS subject
// token that is also a valid stream and consumer name.
func ValidToken(s string) bool { return tokenPattern.MatchString(s) }

// CheckToken returns an error naming what is wrong with s, used as what.
func CheckToken(what, s string) error {
	if !ValidToken(s) {
		return fmt.Errorf("%s %q is not a valid NATS subject token: use up to 64 letters, digits, '-' and '_', starting with a letter", what, s)
	}
	return nil
}

// CheckPrefix returns an error naming what is wrong with prefix. A prefix
// is one NATS subject token without '_': the first '_' of a stream name
// ends its prefix, which keeps the stream names of two prefixes apart. It
// is not "KV" or "OBJ", in any case: JetStream names the streams of
// key-value buckets "KV_<bucket>" and of object stores "OBJ_<bucket>", so
// prefix "KV"'s queue of endpoint "deliveries" would be the stream of
// prefix "queue"'s deliveries bucket, "KV_queue_deliveries".
func CheckPrefix(prefix string) error {
	if strings.EqualFold(prefix, "KV") || strings.EqualFold(prefix, "OBJ") {
		return fmt.Errorf("prefix %q is reserved: JetStream names the streams of key-value buckets KV_<bucket> and of object stores OBJ_<bucket>; use another prefix, such as %q", prefix, prefix+"-bus")
	}
	if !prefixPattern.MatchString(prefix) {
		return fmt.Errorf("prefix %q is not valid: use up to 64 letters, digits and '-', starting with a letter, such as %q (no '_': stream names join the prefix to the rest with '_', and the first '_' must end the prefix)", prefix, suggestPrefix(prefix))
	}
	return nil
}

// suggestPrefix turns s into a valid prefix for an error message.
func suggestPrefix(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case b.Len() == MaxTokenLength:
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case b.Len() > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'):
			if r == '_' || r == '.' {
				r = '-'
			}
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return DefaultPrefix
	}
	return b.String()
}

// Names computes every stream, subject and consumer name under one prefix.
// With a prefix that [CheckPrefix] accepts and endpoint names that
// [CheckToken] accepts, different prefixes or endpoints never share a
// stream: a stream name is the prefix, then '_', then "events", "errors"
// or "queue_<endpoint>".
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

// DeliveriesBucket is the key-value bucket that records the outcomes of
// deliveries, which tell a suspect message from a healthy one. Its stream
// is "KV_" and the bucket's name.
func (n Names) DeliveriesBucket() string { return n.Prefix + "_deliveries" }

// Consumer is the durable consumer name of endpoint, on its queue stream
// and on the events stream alike.
func (n Names) Consumer(endpoint string) string { return endpoint }

// ReplySubject is where the replies to the commands endpoint sent wait
// in its queue stream: durable replies, of any reply type it handles.
func (n Names) ReplySubject(endpoint string) string {
	return n.Prefix + ".reply." + endpoint
}

// ScheduleSubject is the subject of one scheduled message for endpoint's
// queue: token names the message, so that every scheduled message has a
// schedule subject of its own. It lives in the queue stream, as the
// server fires a schedule only into its own stream, and outside the
// subjects the endpoint's consumer takes.
func (n Names) ScheduleSubject(endpoint, token string) string {
	return n.Prefix + ".sched.cmd." + endpoint + "." + token
}

// ScheduleSubjects is the subject filter of endpoint's scheduled messages.
func (n Names) ScheduleSubjects(endpoint string) string {
	return n.Prefix + ".sched.cmd." + endpoint + ".*"
}

// EventScheduleSubject is the subject of one scheduled event, in the
// events stream, outside every subscriber's filter.
func (n Names) EventScheduleSubject(token string) string {
	return n.Prefix + ".sched.evt." + token
}

// EventScheduleSubjects is the subject filter of the scheduled events.
func (n Names) EventScheduleSubjects() string { return n.Prefix + ".sched.evt.*" }

// SchedulesBucket is the key-value bucket that settles the race between
// cancelling a scheduled message and its firing: whichever of the two
// claims the message's key first wins. Its stream is "KV_" and the
// bucket's name.
func (n Names) SchedulesBucket() string { return n.Prefix + "_schedules" }
