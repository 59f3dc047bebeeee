package topology

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// CheckSuffix returns an error naming what is wrong with a subject suffix,
// the part of a subject after "<prefix>.cmd.<endpoint>." or
// "<prefix>.evt.": tokens of letters, digits, '-' and '_' joined by '.',
// at most [MaxSuffixLength] bytes. Wildcards would make a publish fan out
// and a consumer take other types' messages; an empty token, a space or a
// control character is not a valid subject at all.
func CheckSuffix(suffix string) error {
	if len(suffix) > MaxSuffixLength {
		return fmt.Errorf("subject %.40q… is %d bytes long: use at most %d, so that a NATS control line (%d bytes by default) holds the whole subject with its reply subject", suffix, len(suffix), MaxSuffixLength, DefaultMaxControlLine)
	}
	for _, token := range strings.Split(suffix, ".") {
		if !validSuffixToken(token) {
			return fmt.Errorf("subject %q is not a valid NATS subject: use tokens of letters, digits, '-' and '_' separated by '.', without wildcards ('*', '>'), empty tokens or spaces, such as \"orders.placed\"", suffix)
		}
	}
	return nil
}

func validSuffixToken(token string) bool {
	if token == "" {
		return false
	}
	for _, r := range token {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// CheckType returns an error naming what is wrong with a message type: it
// must be a proto full name, as ce-type carries it, of at most
// [MaxTypeLength] bytes.
func CheckType(messageType string) error {
	if len(messageType) > MaxTypeLength {
		return fmt.Errorf("message type %.40q… is %d bytes long: use a proto full name of at most %d", messageType, len(messageType), MaxTypeLength)
	}
	if !protoreflect.FullName(messageType).IsValid() {
		return fmt.Errorf("message type %q is not a proto full name: use the message's package and name as in its .proto file, such as \"shop.sales.v1.PlaceOrder\" (the generated <Message>Type constant)", messageType)
	}
	return nil
}

// CheckSource returns an error naming what is wrong with a ce-source: it
// must not be empty, must be at most [MaxSourceLength] bytes and must hold
// no control characters.
func CheckSource(source string) error {
	switch {
	case source == "":
		return fmt.Errorf("the source must not be empty")
	case len(source) > MaxSourceLength:
		return fmt.Errorf("source %.40q… is %d bytes long: use at most %d", source, len(source), MaxSourceLength)
	case strings.IndexFunc(source, isControl) >= 0:
		return fmt.Errorf("source %q holds a control character: use a name or URI reference such as \"billing-service\"", source)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
