package gobus

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
)

// Kind tells commands from events.
type Kind uint8

const (
	// KindCommand is a message sent to the one endpoint that owns it.
	KindCommand Kind = iota + 1
	// KindEvent is a message published to every endpoint subscribed to it.
	KindEvent
	// KindReply is a message that answers a command, sent back to whoever
	// sent it; see [ReplyRoute].
	KindReply
)

// String returns "command" or "event".
func (k Kind) String() string {
	switch k {
	case KindCommand:
		return "command"
	case KindEvent:
		return "event"
	case KindReply:
		return "reply"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Route is one entry of the routing table: where a message type goes. The
// generated code declares one per message; a command's endpoint can be
// overridden at run time with [WithRoute].
type Route struct {
	// Type is the proto full name, written in ce-type.
	Type string
	// Kind says whether the message is a command or an event.
	Kind Kind
	// Endpoint is the endpoint that handles a command; empty for events.
	Endpoint string
	// Subject is the last part of the NATS subject: the proto full name
	// unless the contract overrides it.
	Subject string
	// Filter names an event's filter fields, in the contract's order:
	// their values' tokens follow Subject in the event's subject, and
	// subscribers filter on them (see [Filter]). Empty for most events,
	// and for commands.
	Filter []string
}

// CommandRoute is the typed route of a command of type M. Only
// [Send] takes it, so a command cannot be published.
type CommandRoute[M proto.Message] struct{ route Route }

// NewCommandRoute returns the route of command type M, which endpoint
// handles and which travels on subject suffix subject. Generated code
// calls it; users do not need to.
//
// NewCommandRoute panics, with an error wrapping [ErrInvalidOption] that
// says what to write, if messageType is not a proto full name, subject is
// not a subject of tokens without wildcards (at most 512 bytes), or
// endpoint is not a valid endpoint name. Like regexp.MustCompile, it takes
// constants and is called to initialise package-level variables, where an
// error has no caller to go to: the panic stops every program and test
// that imports the broken contract package at once, before it connects,
// so a route that cannot work never reaches the wire.
func NewCommandRoute[M proto.Message](messageType, endpoint, subject string) *CommandRoute[M] {
	r := Route{Type: messageType, Kind: KindCommand, Endpoint: endpoint, Subject: subject}
	mustValidate(r)
	return &CommandRoute[M]{r}
}

// Route returns the untyped route.
func (r *CommandRoute[M]) Route() Route { return r.route }

// EventRoute is the typed route of an event of type M. Only [Publish]
// takes it, so an event cannot be sent.
type EventRoute[M proto.Message] struct{ route Route }

// NewEventRoute returns the route of event type M, which travels on
// subject suffix subject, followed by the tokens of its filter fields
// when it has some. Generated code calls it; users do not need to. Like
// [NewCommandRoute], it panics if messageType, subject or a filter field
// name is invalid.
func NewEventRoute[M proto.Message](messageType, subject string, filter ...string) *EventRoute[M] {
	r := Route{Type: messageType, Kind: KindEvent, Subject: subject, Filter: filter}
	mustValidate(r)
	return &EventRoute[M]{r}
}

// Route returns the untyped route.
func (r *EventRoute[M]) Route() Route { return r.route }

// routeTable is the process-wide routing table that generated code fills
// in its init functions.
var routeTable = struct {
	sync.Mutex
	routes    map[string]Route
	conflicts []string
}{routes: map[string]Route{}}

// RegisterRoutes adds routes to the process-wide routing table. Generated
// code calls it from init. Two different routes for one message type are a
// conflict, and an invalid route (one that [NewCommandRoute] or
// [NewEventRoute] would refuse) a mistake, that [Connect] reports with
// [ErrInvalidOption]; an invalid route is left out of the table.
func RegisterRoutes(routes ...Route) {
	routeTable.Lock()
	defer routeTable.Unlock()
	for _, r := range routes {
		if err := r.validate(); err != nil {
			routeTable.conflicts = append(routeTable.conflicts, strings.TrimPrefix(err.Error(), ErrInvalidOption.Error()+": "))
			continue
		}
		if prev, ok := routeTable.routes[r.Type]; ok && !sameRoute(prev, r) {
			routeTable.conflicts = append(routeTable.conflicts,
				fmt.Sprintf("message type %s is registered twice with different routes (%+v and %+v): two generated packages declare the same proto full name", r.Type, prev, r))
			continue
		}
		routeTable.routes[r.Type] = r
	}
}

// Routes returns the process-wide routing table, sorted by message type.
func Routes() []Route {
	routeTable.Lock()
	defer routeTable.Unlock()
	out := make([]Route, 0, len(routeTable.routes))
	for _, r := range routeTable.routes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

func routeConflicts() []string {
	routeTable.Lock()
	defer routeTable.Unlock()
	return append([]string(nil), routeTable.conflicts...)
}
