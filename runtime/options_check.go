package gobus

import (
	"sort"
	"strings"

	"github.com/gobusdev/gobus/internal/topology"
)

// validateRoutes checks every WithRoute against the routing table that
// generated code registered before main ran: the type must be a command
// some contract declares, and the endpoint a valid name.
func (c *clientConfig) validateRoutes() error {
	known := map[string]Route{}
	for _, r := range Routes() {
		known[r.Type] = r
	}
	for _, typ := range sortedKeys(c.routes) {
		endpoint := c.routes[typ]
		r, ok := known[typ]
		switch {
		case !ok:
			return invalidf("WithRoute(%q, %q): no contract declares message type %q: use the generated <Message>Type constant of a command, one of %s", typ, endpoint, typ, typesOf(known, KindCommand))
		case r.Kind != KindCommand:
			return invalidf("WithRoute(%q, %q): %s is an event, which goes to every subscriber: WithRoute reroutes commands only", typ, endpoint, typ)
		}
		if err := topology.CheckToken("endpoint", endpoint); err != nil {
			return invalidf("WithRoute(%q): %v", typ, err)
		}
	}
	return nil
}

// checkDeclaredTypes checks that every type given to an option such as
// [WithRetryPolicyFor] is one that some contract declares, so that a typo
// fails at [NewEndpoint] instead of being ignored.
func checkDeclaredTypes(option string, types []string) error {
	known := map[string]Route{}
	for _, r := range Routes() {
		known[r.Type] = r
	}
	for _, typ := range types {
		if _, ok := known[typ]; !ok {
			return invalidf("%s(%q): no contract declares message type %q: use the generated <Message>Type constant, one of %s", option, typ, typ, typesOf(known, 0))
		}
	}
	return nil
}

// typesOf lists the known types of kind (any kind if 0) for an error
// message, at most ten of them.
func typesOf(known map[string]Route, kind Kind) string {
	var types []string
	for typ, r := range known {
		if kind == 0 || r.Kind == kind {
			types = append(types, typ)
		}
	}
	if len(types) == 0 {
		return "none: no generated contract package is imported"
	}
	sort.Strings(types)
	if len(types) > 10 {
		types = append(types[:10], "…")
	}
	return strings.Join(types, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
