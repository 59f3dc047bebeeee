package gobus

import (
	"fmt"

	"github.com/gobusdev/gobus/internal/topology"
)

// validate returns an [ErrInvalidOption] error naming what is wrong with
// r and what to write instead: its type must be a proto full name, its
// subject suffix tokens without wildcards, a command's endpoint a valid
// endpoint name and an event's empty. The bounds on their lengths
// (internal/topology's MaxTypeLength, MaxSuffixLength and MaxTokenLength)
// keep every subject gobus publishes within a NATS control line.
func (r Route) validate() error {
	if err := topology.CheckType(r.Type); err != nil {
		return invalidf("route of %q: %v", r.Type, err)
	}
	if err := topology.CheckSuffix(r.Subject); err != nil {
		return invalidf("route of %s: %v", r.Type, err)
	}
	switch r.Kind {
	case KindCommand:
		if err := topology.CheckToken("endpoint", r.Endpoint); err != nil {
			return invalidf("route of command %s: %v", r.Type, err)
		}
	case KindEvent:
		if r.Endpoint != "" {
			return invalidf("route of event %s names endpoint %q: events go to every subscriber, so leave the endpoint empty", r.Type, r.Endpoint)
		}
	default:
		return invalidf("route of %s: kind %v is neither KindCommand nor KindEvent", r.Type, r.Kind)
	}
	return r.validateFilter()
}

// mustValidate panics with r's validation error, for the route
// constructors, which generated code calls to initialise package-level
// variables and so cannot return an error.
func mustValidate(r Route) {
	if err := r.validate(); err != nil {
		panic(fmt.Errorf("%w (this route is declared by generated code: fix the contract and run buf generate again, or fix the hand-written call)", err))
	}
}
