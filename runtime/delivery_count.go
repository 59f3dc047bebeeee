package gobus

import "strings"

// deliveryCount reads how many times the server has delivered a message
// from its ack subject, as jetstream's Msg.Metadata does but without
// building the whole MsgMetadata: that costs an allocation per message,
// and only the slow paths need the rest. ok is false for a subject that
// is not a JetStream ack subject, which Metadata rejects too:
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>
//	$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>[.<token>...]
func deliveryCount(reply string) (n int, ok bool) {
	const prefix = "$JS.ACK."
	tokens := strings.Count(reply, ".") + 1
	var at int // index of the delivered token
	switch {
	case tokens == 9:
		at = 4
	case tokens >= 11:
		at = 6
	default:
		return 0, false
	}
	if !strings.HasPrefix(reply, prefix) {
		return 0, false
	}
	s := reply
	for range at {
		s = s[strings.IndexByte(s, '.')+1:]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return parseCount(s), true
}

// parseCount is the decimal number s, or 0 if s is not one, as jetstream
// parses the tokens of an ack subject.
func parseCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
