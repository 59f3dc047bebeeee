package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultAuditMaxAge is how long the audit stream keeps a record unless
// configured otherwise.
const DefaultAuditMaxAge = 24 * time.Hour

// AuditStream is the stream of audit records: a copy of the headers of
// each message an endpoint with auditing on handled successfully.
func (n Names) AuditStream() string { return n.Prefix + "_audit" }

// AuditSubject is the subject of endpoint's audit record of a message of
// the conversation whose token is conversation (see [ConversationToken]).
func (n Names) AuditSubject(endpoint, conversation string) string {
	return n.Prefix + ".audit." + endpoint + "." + conversation
}

// AuditSubjects is the subject filter of the audit stream.
func (n Names) AuditSubjects() string { return n.Prefix + ".audit.*.*" }

// ConversationSubjects is the subject filter of one conversation's audit
// records, across endpoints.
func (n Names) ConversationSubjects(conversation string) string {
	return n.Prefix + ".audit.*." + conversation
}

// EndpointAuditSubjects is the subject filter of one endpoint's audit
// records.
func (n Names) EndpointAuditSubjects(endpoint string) string {
	return n.Prefix + ".audit." + endpoint + ".*"
}

// AuditStreamConfig is the configuration of the audit stream, keeping
// records for maxAge (0 for [DefaultAuditMaxAge]).
func (in *Installer) AuditStreamConfig(maxAge time.Duration) jetstream.StreamConfig {
	if maxAge <= 0 {
		maxAge = DefaultAuditMaxAge
	}
	return jetstream.StreamConfig{
		Name:        in.Names.AuditStream(),
		Description: "gobus audit: the headers and processing times of handled messages",
		Subjects:    []string{in.Names.AuditSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      maxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    in.Settings.Replicas,
		Duplicates:  in.Settings.DuplicateWindow,
		AllowDirect: true,
	}
}

// ConversationToken is the subject token of a correlation id: the id
// itself when it is a token of up to 64 letters, digits, '-' and '_',
// else "h" and the first 32 hex digits of its SHA-256. Readers compare
// the records' correlation header too, so two ids that share a token
// never mix.
func ConversationToken(correlationID string) string {
	if correlationID != "" && len(correlationID) <= MaxTokenLength && plainToken(correlationID) {
		return correlationID
	}
	sum := sha256.Sum256([]byte(correlationID))
	return "h" + hex.EncodeToString(sum[:16])
}

func plainToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
