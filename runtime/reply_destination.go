package gobus

import (
	"fmt"
	"strings"

	"github.com/gobusdev/gobus/internal/topology"
)

// replyDestination checks where a reply goes, the ce-gobusreplyto of the
// command it answers, and says whether it is an endpoint's queue
// (durable: stored by JetStream) or a waiting request's subject (core
// NATS, stored nowhere). A reply-to that is neither, such as another
// subject under the prefix, would write into a stream the sender does not
// own: the error says why the reply is dropped.
func (c *Client) replyDestination(to string) (durable bool, err error) {
	if !validPublishSubject(to) {
		return false, fmt.Errorf("ce-gobusreplyto %q is not a NATS subject gobus can publish to", to)
	}
	prefix := c.names.Prefix + ".reply."
	if endpoint, ok := strings.CutPrefix(to, prefix); ok {
		if !topology.ValidToken(endpoint) {
			return false, fmt.Errorf("ce-gobusreplyto %q names no valid endpoint", to)
		}
		return true, nil
	}
	if strings.HasPrefix(to, c.names.Prefix+".") || strings.HasPrefix(to, "$") {
		return false, fmt.Errorf("ce-gobusreplyto %q is neither an endpoint's reply subject (%s<endpoint>) nor a requester's own subject", to, prefix)
	}
	return false, nil
}

// validPublishSubject reports whether s is a subject without wildcards,
// spaces or empty tokens.
func validPublishSubject(s string) bool {
	if s == "" || len(s) > topology.MaxSuffixLength*2 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	for _, t := range strings.Split(s, ".") {
		if t == "" || t == "*" || t == ">" {
			return false
		}
	}
	return true
}
