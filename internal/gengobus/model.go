package gengobus

import (
	"strings"
	"unicode"

	"google.golang.org/protobuf/compiler/protogen"
)

// kind tells a command from an event.
type kind int

const (
	kindCommand kind = iota + 1
	kindEvent
)

// contractFile is one .proto file that declares gobus messages, with
// everything the emitter needs computed once.
type contractFile struct {
	file     *protogen.File
	messages []*contract
	groups   []*endpointGroup
	// replyTypes are the reply types whose route and ReplyX function
	// this file declares for its Go package.
	replyTypes []*replyType
	// sagas are the sagas whose state this file declares.
	sagas []*saga
}

// contract is one message marked as a command or an event.
type contract struct {
	msg      *protogen.Message
	at       position // where its gobus option is written
	kind     kind
	endpoint string // commands only: the destination endpoint
	subject  string // the last part of the subject: the full name unless overridden
	// filter are an event's filter fields, in the contract's order.
	filter []*protogen.Field
	names  contractNames
	// replyMsgs are the replies a command declares, in order; replies
	// their generated names, set once every file is read.
	replyMsgs  []*protogen.Message
	replies    []*replyType
	replyNames replyNames
}

// contractNames are the Go identifiers generated for one message.
type contractNames struct {
	Type     string // constant holding the proto full name
	Endpoint string // constant holding the endpoint (commands only)
	Route    string // route variable
	Dispatch string // SendX or PublishX
	Handler  string // handler interface
	Method   string // handler method
	Register string // typed registration function
	Filter   string // filter type (events with filter fields only)
}

// endpointGroup gathers the commands of one file that one endpoint handles,
// for the endpoint's handler interface and its Unimplemented type.
type endpointGroup struct {
	endpoint      string
	commands      []*contract
	Handler       string
	Unimplemented string
	Register      string
}

func newContractNames(m *protogen.Message, k kind) contractNames {
	name := m.GoIdent.GoName
	n := contractNames{
		Type:     name + "Type",
		Route:    name + "Route",
		Handler:  name + "Handler",
		Method:   "Handle" + name,
		Register: "Register" + name + "Handler",
	}
	if k == kindCommand {
		n.Endpoint = name + "Endpoint"
		n.Dispatch = "Send" + name
	} else {
		n.Dispatch = "Publish" + name
	}
	return n
}

func (n contractNames) all() []string {
	out := []string{n.Type, n.Route, n.Dispatch, n.Handler, n.Register}
	if n.Endpoint != "" {
		out = append(out, n.Endpoint)
	}
	if n.Filter != "" {
		out = append(out, n.Filter)
	}
	return out
}

func newEndpointGroup(endpoint string) *endpointGroup {
	name := goName(endpoint)
	return &endpointGroup{
		endpoint:      endpoint,
		Handler:       name + "Handler",
		Unimplemented: "Unimplemented" + name + "Handler",
		Register:      "Register" + name + "Handler",
	}
}

func (g *endpointGroup) names() []string {
	return []string{g.Handler, g.Unimplemented, g.Register}
}

// goName turns an endpoint name such as "order-service" into the exported
// Go name "OrderService".
func goName(endpoint string) string {
	var b strings.Builder
	upper := true
	for _, r := range endpoint {
		if r == '-' || r == '_' {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
