package topology

import (
	"strings"
	"testing"
)

// A correlation id becomes one subject token: itself when it is one, a
// hash otherwise, so that any id, dotted or long, has records of its own.
func TestConversationToken(t *testing.T) {
	for _, id := range []string{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "order_17", "A"} {
		if got := ConversationToken(id); got != id {
			t.Errorf("ConversationToken(%q) = %q, want the id itself", id, got)
		}
	}
	seen := map[string]string{}
	for _, id := range []string{"", "a.b", "a b", "x*", "x>", "ä", strings.Repeat("a", MaxTokenLength+1), "order.17"} {
		got := ConversationToken(id)
		if !ValidToken(got) || len(got) != 33 || got[0] != 'h' {
			t.Errorf("ConversationToken(%q) = %q, want h and 32 hex digits", id, got)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("%q and %q share token %s", prev, id, got)
		}
		seen[got] = id
	}
}
