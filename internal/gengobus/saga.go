package gengobus

import (
	"regexp"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"

	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// saga is one message marked as the state of a saga, with the messages it
// handles and the timeouts it schedules to itself.
type saga struct {
	state       *protogen.Message
	at          position // where its saga option is written
	stem        string   // the Go name stem: "Shipping"
	correlation *protogen.Field
	handles     []*sagaHandle
	timeouts    []*sagaTimeout
	names       sagaNames
}

// sagaHandle is one command or event a saga handles.
type sagaHandle struct {
	msg       *protogen.Message
	kind      kind
	field     *protogen.Field // the message's field holding the correlation value
	starts    bool
	ifMissing gobusv1.SagaIfMissing
	Route     string // the message's route variable, in its Go package
	Method    string // HandleX
	NotFound  string // NotFoundX, for if_missing: SAGA_IF_MISSING_HANDLE only
}

// sagaTimeout is one plain message a saga schedules to itself.
type sagaTimeout struct {
	msg     *protogen.Message
	Method  string // TimeoutX
	Request string // Request<Stem>X
}

// sagaNames are the package-level Go names generated for one saga.
type sagaNames struct {
	Interface     string // <Stem>Saga
	Unimplemented string // Unimplemented<Stem>Saga
	New           string // New<Stem>Saga
	Register      string // Register<Stem>Saga
}

func newSagaNames(stem string) sagaNames {
	return sagaNames{
		Interface:     stem + "Saga",
		Unimplemented: "Unimplemented" + stem + "Saga",
		New:           "New" + stem + "Saga",
		Register:      "Register" + stem + "Saga",
	}
}

// all lists the package-level Go names of s, its timeout helpers
// included.
func (s *saga) all() []string {
	out := []string{s.names.Interface, s.names.Unimplemented, s.names.New, s.names.Register}
	for _, t := range s.timeouts {
		out = append(out, t.Request)
	}
	return out
}

// stemSuffixes are cut from a state message's name to make the default
// stem, the first that matches: ShippingSagaData, ShippingData and
// ShippingState all give Shipping.
var stemSuffixes = []string{"SagaData", "Data", "State"}

// defaultStem is the stem of the Go names of a saga whose option names
// none: the state's Go name without a suffix of stemSuffixes, or the whole
// name if nothing would be left.
func defaultStem(m *protogen.Message) string {
	name := m.GoIdent.GoName
	for _, suffix := range stemSuffixes {
		if stem, ok := strings.CutSuffix(name, suffix); ok && stem != "" && !strings.HasSuffix(stem, "_") {
			return stem
		}
	}
	return name
}

// stemPattern is a stem that makes exported Go names.
var stemPattern = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

// kindOrReply is kindOf, and "a reply" for a message marked as one.
func kindOrReply(m *protogen.Message) string {
	if k := kindOf(m); k != "" {
		return k
	}
	if proto.HasExtension(m.Desc.Options(), gobusv1.E_Reply) {
		return "a reply"
	}
	return ""
}

// messageKind is the kind of a command or event m.
func messageKind(m *protogen.Message) kind {
	if proto.HasExtension(m.Desc.Options(), gobusv1.E_Command) {
		return kindCommand
	}
	return kindEvent
}
