package errorstream

import (
	"slices"
	"strings"
)

// Selector chooses failed messages by id or by what they are. A message
// must match every field given; the zero Selector matches every message.
type Selector struct {
	IDs      []uint64
	Endpoint string
	Type     string
	Contains string // in the error text, case-insensitive
}

// Matches reports whether s chooses m.
func (s Selector) Matches(m *Message) bool {
	if len(s.IDs) > 0 && !slices.Contains(s.IDs, m.ID) {
		return false
	}
	return (s.Endpoint == "" || m.Endpoint == s.Endpoint) &&
		(s.Type == "" || m.Type == s.Type) &&
		(s.Contains == "" || strings.Contains(strings.ToLower(m.Error), strings.ToLower(s.Contains)))
}
