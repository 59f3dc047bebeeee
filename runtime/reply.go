package gobus

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/topology"
)

// ReplyRoute is the typed route of a reply of type R: a message that
// answers a command which declares it among its replies, and goes back to
// whoever sent the command. Only [Reply] takes it.
type ReplyRoute[R proto.Message] struct{ typ string }

// NewReplyRoute returns the route of reply type R, whose proto full name
// is replyType. Generated code calls it; like [NewCommandRoute], it
// panics if replyType is not a proto full name.
func NewReplyRoute[R proto.Message](replyType string) *ReplyRoute[R] {
	if err := topology.CheckType(replyType); err != nil {
		panic(fmt.Errorf("%w: route of reply %q: %v (this route is declared by generated code: fix the contract and run buf generate again)", ErrInvalidOption, replyType, err))
	}
	return &ReplyRoute[R]{typ: replyType}
}

// Type returns the reply's type, its proto full name.
func (r *ReplyRoute[R]) Type() string { return r.typ }

func (r *ReplyRoute[R]) route() Route { return Route{Type: r.typ, Kind: KindReply} }

// replyTable maps each command type to the reply types it declares.
var replyTable = struct {
	sync.Mutex
	replies map[string][]string
}{replies: map[string][]string{}}

// RegisterReplies declares that the command on route command may be
// answered with replies of replyTypes. Generated code calls it from init.
func RegisterReplies(command Route, replyTypes ...string) {
	replyTable.Lock()
	defer replyTable.Unlock()
	for _, t := range replyTypes {
		if !slices.Contains(replyTable.replies[command.Type], t) {
			replyTable.replies[command.Type] = append(replyTable.replies[command.Type], t)
		}
	}
}

// repliesOf returns the reply types command type declares.
func repliesOf(command string) []string {
	replyTable.Lock()
	defer replyTable.Unlock()
	return replyTable.replies[command]
}

// Reply answers the command mc is handling with reply: after the handler
// succeeds, it goes to where the command's ce-gobusreplyto says, a
// waiting [Request] or the queue of the endpoint that sent it. A command
// sent without asking for a reply gets none: the reply is dropped, with a
// debug log. The generated ReplyX functions call it.
func Reply[R proto.Message](ctx context.Context, mc *MessageContext, r *ReplyRoute[R], reply R) error {
	if !slices.Contains(repliesOf(mc.Type()), r.typ) {
		// No retry can fix the contract.
		return Unrecoverable(fmt.Errorf("gobus: %s does not declare reply %s: add it to the command's replies, as in option (gobus.v1.command) = { replies: [\"%s\"] }", mc.Type(), r.typ, r.typ))
	}
	to := mc.env.ReplyTo
	if to == "" && mc.detached == nil {
		mc.ep.log.Debug("gobus: dropped a reply: the command's sender asked for none", "command", mc.Type(), "id", mc.ID(), "reply", r.typ)
		return nil
	}
	return mc.Dispatch(ctx, Outgoing{Route: r.route(), Message: reply, to: to})
}

// HandleReply has ep handle with h the replies of type R to the commands
// on route command that ep's handlers send: sending one from ep asks for
// its reply in ep's queue, where it waits while ep is down. The generated
// RegisterXReplyHandler functions call it.
func HandleReply[C, R proto.Message](ep *Endpoint, command *CommandRoute[C], r *ReplyRoute[R], h HandlerFunc[R]) error {
	if !slices.Contains(repliesOf(command.route.Type), r.typ) {
		return invalidf("%s does not declare reply %s", command.route.Type, r.typ)
	}
	return ep.register(newRegistration(r.route(), h))
}

// WithReplyTo asks for the command's reply in the queue of endpoint,
// which handles it with the generated reply handler. A command sent from
// a handler of an endpoint that handles its replies asks for them there
// without it.
func WithReplyTo(endpoint string) SendOption {
	return sendOptionFunc(func(o *Outgoing) { o.replyEndpoint = endpoint })
}

type sendOptionFunc func(*Outgoing)

func (f sendOptionFunc) applySend(o *Outgoing) { f(o) }

// handlesRepliesTo reports whether ep handles a reply of command type.
func (ep *Endpoint) handlesRepliesTo(command string) bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, t := range repliesOf(command) {
		if reg, ok := ep.handlers[t]; ok && reg.route.Kind == KindReply {
			return true
		}
	}
	return false
}
