package topology

// Size bounds of the names gobus puts on the wire. NATS has no limit of
// its own on a subject, but a client sends a message as one control line,
// "HPUB <subject> <reply> <header bytes> <total bytes>\r\n", and a server
// closes the connection for good (maximum control line exceeded) when that
// line is longer than its max_control_line, 4096 bytes by default. The
// reply is JetStream's acknowledgement inbox, "_INBOX.<22-character
// NUID>.<token>" with nats.go's default inbox prefix, but a custom inbox
// prefix can be long. The bounds keep the longest gobus subject, plus the
// verb, the two sizes and the line's end, to a quarter of the default
// control line, leaving over 3,000 bytes for the reply subject. The same
// names are header values (ce-type, ce-source, gobus-failed-subject), which
// these bounds keep small against the 65535 bytes of a stored header block.
const (
	// MaxTokenLength is the longest prefix or endpoint name.
	MaxTokenLength = 64
	// MaxSuffixLength is the longest subject suffix: the proto full name
	// of a message type or its contract's subject override.
	MaxSuffixLength = 512
	// MaxTypeLength is the longest message type, a proto full name; it is
	// the default subject suffix, so it has the same bound.
	MaxTypeLength = MaxSuffixLength
	// MaxSubjectLength is the longest subject gobus publishes to:
	// "<prefix>.cmd.<endpoint>.<suffix>" with each part at its bound.
	MaxSubjectLength = MaxTokenLength + len(".cmd.") + MaxTokenLength + len(".") + MaxSuffixLength
	// MaxSourceLength is the longest ce-source a client sends with.
	MaxSourceLength = 256
	// DefaultMaxControlLine is the NATS server's default max_control_line,
	// the limit the bounds above are chosen against.
	DefaultMaxControlLine = 4096
)
