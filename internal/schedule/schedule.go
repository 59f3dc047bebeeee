// Package schedule holds gobus's scheduled messages on the NATS server:
// JetStream message schedules (nats-server 2.12 or later), one schedule
// subject per scheduled message, in the stream of the message's target,
// as the server fires a schedule only into its own stream. It also
// settles the race between cancelling a scheduled message and its firing,
// in a key-value bucket. docs/wire.md documents the subjects and headers.
package schedule

import (
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
)

// The headers of a schedule message, as nats-server reads them, and the
// ones it writes on the message it fires.
const (
	// HeaderSchedule holds "@at <RFC 3339 time>": when to fire.
	HeaderSchedule = "Nats-Schedule"
	// HeaderTarget is the subject the fired message is stored on.
	HeaderTarget = "Nats-Schedule-Target"
	// HeaderScheduler is set by the server on a fired message: the
	// schedule subject it came from.
	HeaderScheduler = "Nats-Scheduler"
	// HeaderNext is set by the server on a fired message; "purge" for a
	// one-time schedule, which the server removes as it fires.
	HeaderNext = "Nats-Schedule-Next"
)

// tokenPattern is a message id that can be a schedule subject's last
// token as it is.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var hashEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is the last token of the schedule subject of the message with id
// (its ce-id): the id itself when it is a plain token, as gobus's UUIDs
// are, else "_" and a hash of it. Retrying a scheduling send with the same
// id uses the same subject.
func Token(id string) string {
	if tokenPattern.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "_" + hashEncoding.EncodeToString(sum[:20])
}

// Wrap turns msg, bound for its subject, into the schedule message on
// subject that the server fires at at onto msg's subject. The fired
// message keeps every other header: ce-id, correlation, trace context.
// The time keeps its fraction of a second: nats-server parses it with
// Go's RFC 3339 parser, which reads one, and fires no earlier.
func Wrap(msg *nats.Msg, subject string, at time.Time) {
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	msg.Header.Set(HeaderSchedule, "@at "+at.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(HeaderTarget, msg.Subject)
	msg.Subject = subject
}

// FiredFrom is the schedule subject a delivered message was fired from, or
// "" for a message that was not scheduled.
func FiredFrom(h nats.Header) string {
	if h == nil {
		return ""
	}
	return h.Get(HeaderScheduler)
}
