package gengobus

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// The field numbers of the saga option, for the positions of mistakes.
var (
	sagaNameField        = fieldNumber(&gobusv1.SagaOptions{}, "name")
	sagaCorrelationField = fieldNumber(&gobusv1.SagaOptions{}, "correlation")
	sagaHandlesField     = fieldNumber(&gobusv1.SagaOptions{}, "handles")
	sagaTimeoutsField    = fieldNumber(&gobusv1.SagaOptions{}, "timeouts")
)

// sagaExt is the number of the saga option.
func sagaExt() protoreflect.FieldNumber { return gobusv1.E_Saga.TypeDescriptor().Number() }

// readSaga reads the saga option of r's message. It returns nil for a
// message that is not a saga's state, or whose option is wrong.
func (r reader) readSaga() *saga {
	opts := r.m.Desc.Options()
	if !proto.HasExtension(opts, gobusv1.E_Saga) {
		return nil
	}
	o := proto.GetExtension(opts, gobusv1.E_Saga).(*gobusv1.SagaOptions)
	r.where = fmt.Sprintf("saga %s", r.m.Desc.FullName())
	if k := kindOrReply(r.m); k != "" {
		r.ms.add(r.pos(sagaExt()), "%s: the state of a saga is kept by the saga, never sent, so it cannot be %s as well: declare a message of its own for the saga's state", r.where, k)
		return nil
	}
	s := &saga{state: r.m, at: r.pos(sagaExt())}
	ok := r.sagaStem(s, o.GetName())
	ok = r.sagaCorrelation(s, o.GetCorrelation()) && ok
	ok = r.sagaHandles(s, o.GetHandles()) && ok
	ok = r.sagaTimeouts(s, o.GetTimeouts()) && ok
	ok = r.sagaMethods(s) && ok
	ok = r.sagaEndpoint(s) && ok
	if !ok {
		return nil
	}
	return s
}

func (r reader) sagaStem(s *saga, name string) bool {
	s.stem = name
	if name == "" {
		s.stem = defaultStem(r.m)
	}
	s.names = newSagaNames(s.stem)
	if name != "" && !stemPattern.MatchString(name) {
		r.ms.add(r.pos(sagaExt(), sagaNameField), "%s: name %q does not make exported Go names: use letters, digits and '_', starting with a capital letter, as in name: \"Shipping\" (for ShippingSaga), or leave it out to use %q", r.where, name, defaultStem(r.m))
		return false
	}
	return true
}

// sagaCorrelation finds the state's correlation field.
func (r reader) sagaCorrelation(s *saga, name string) bool {
	at := r.pos(sagaExt(), sagaCorrelationField)
	if name == "" {
		r.ms.add(at, "%s has no correlation: name the state field that identifies an instance, as in option (gobus.v1.saga) = { correlation: \"order_id\" }", r.where)
		return false
	}
	fld := fieldByName(r.m, name)
	if fld == nil {
		r.ms.add(at, "%s: correlation %q is not a field of %s: name the state field that identifies an instance (%s), or add it to the message", r.where, name, r.m.Desc.Name(), fieldNames(r.m))
		return false
	}
	if why := correlationKind(fld); why != "" {
		r.ms.add(at, "%s: correlation field %s %s: the correlation value is the key of an instance, so it must be a singular string or integer field (string, int32, int64, uint32, uint64, sint*, fixed*, sfixed*) outside any oneof", r.where, fld.Desc.FullName(), why)
		return false
	}
	s.correlation = fld
	return true
}

// sagaHandles resolves and checks the messages the saga handles.
func (r reader) sagaHandles(s *saga, entries []*gobusv1.SagaMessage) bool {
	at := r.pos(sagaExt(), sagaHandlesField)
	ok := true
	starts := false
	seen := map[protoreflect.FullName]bool{}
	for _, e := range entries {
		starts = starts || e.GetStarts()
		h := r.sagaHandle(s, e, at, seen)
		if h == nil {
			ok = false
			continue
		}
		s.handles = append(s.handles, h)
	}
	if !starts {
		r.ms.add(at, "%s: no message starts it, so no instance could ever exist: mark the messages that may begin the process with starts: true, as in handles: [{ message: \"OrderPlaced\", starts: true }]; the runtime sets the state's correlation field from the starting message", r.where)
		ok = false
	}
	return ok
}

func (r reader) sagaHandle(s *saga, e *gobusv1.SagaMessage, at position, seen map[protoreflect.FullName]bool) *sagaHandle {
	name := e.GetMessage()
	m := r.resolve(name)
	if m != nil && !importable(r.f.Desc, m.Desc.ParentFile()) {
		m = nil
	}
	switch {
	case strings.TrimSpace(name) == "":
		r.ms.add(at, "%s handles a message without a name: write the command's or event's name, as in handles: [{ message: \"OrderPlaced\" }], or leave the entry out", r.where)
		return nil
	case m == nil:
		r.ms.add(at, "%s handles %q, which is not a message of %s or of a file it imports: name a command or an event by its full name (\"%s.%s\") or by its name in package %s, and import its file", r.where, name, r.f.Desc.Path(), r.f.Desc.Package(), strings.TrimPrefix(name, "."), r.f.Desc.Package())
		return nil
	case seen[m.Desc.FullName()]:
		r.ms.add(at, "%s lists %s twice in handles: list each message once, with starts: true if it may start an instance", r.where, m.Desc.FullName())
		return nil
	}
	seen[m.Desc.FullName()] = true
	if k := kindOf(m); k == "" {
		r.ms.add(at, "%s handles %s, which is neither a command nor an event: a saga handles commands and events; if the saga schedules %s to itself, list it under timeouts instead", r.where, m.Desc.FullName(), m.Desc.Name())
		return nil
	}
	if e.GetStarts() && e.GetIfMissing() != gobusv1.SagaIfMissing_SAGA_IF_MISSING_UNSPECIFIED {
		r.ms.add(at, "%s: %s starts the saga and sets if_missing %s: a starting message creates the instance it misses, so if_missing applies only to messages that do not start it; leave if_missing out", r.where, m.Desc.FullName(), e.GetIfMissing())
		return nil
	}
	fld := r.sagaHandleField(s, m, e.GetField(), at)
	if fld == nil {
		return nil
	}
	h := &sagaHandle{
		msg: m, kind: messageKind(m), field: fld, starts: e.GetStarts(), ifMissing: e.GetIfMissing(),
		Route:  newContractNames(m, messageKind(m)).Route,
		Method: "Handle" + m.GoIdent.GoName,
	}
	if h.ifMissing == gobusv1.SagaIfMissing_SAGA_IF_MISSING_HANDLE {
		h.NotFound = "NotFound" + m.GoIdent.GoName
	}
	return h
}

// sagaHandleField finds the field of m that correlates it to the state's
// correlation field, the one named name or, if name is empty, the one
// named like the state's field.
func (r reader) sagaHandleField(s *saga, m *protogen.Message, name string, at position) *protogen.Field {
	if s.correlation == nil {
		return nil // reported already
	}
	state := s.correlation
	if name == "" {
		name = string(state.Desc.Name())
	}
	fld := fieldByName(m, name)
	if fld == nil {
		r.ms.add(at, "%s handles %s, which has no field %q to correlate it with the state's %s: name the field of %s that holds the %s value, as in { message: %q, field: \"...\" } (its fields: %s), or add the field", r.where, m.Desc.FullName(), name, state.Desc.Name(), m.Desc.Name(), state.Desc.Name(), m.Desc.Name(), fieldNames(m))
		return nil
	}
	if why := correlationKind(fld); why != "" {
		r.ms.add(at, "%s handles %s by field %s, which %s: correlate it by a singular string or integer field outside any oneof, of the same type as the state's %s (%s)", r.where, m.Desc.FullName(), fld.Desc.Name(), why, state.Desc.Name(), state.Desc.Kind())
		return nil
	}
	if scalarGoType(fld.Desc.Kind()) != scalarGoType(state.Desc.Kind()) {
		r.ms.add(at, "%s handles %s by field %s, which is %s, but the state's correlation field %s is %s: correlate fields of the same type, or change one of them", r.where, m.Desc.FullName(), fld.Desc.FullName(), fld.Desc.Kind(), state.Desc.FullName(), state.Desc.Kind())
		return nil
	}
	return fld
}

// sagaTimeouts resolves and checks the timeouts of the saga.
func (r reader) sagaTimeouts(s *saga, names []string) bool {
	at := r.pos(sagaExt(), sagaTimeoutsField)
	handled := map[protoreflect.FullName]bool{}
	for _, h := range s.handles {
		handled[h.msg.Desc.FullName()] = true
	}
	seen := map[protoreflect.FullName]bool{}
	ok := true
	for _, name := range names {
		m := r.resolve(name)
		if m != nil && !importable(r.f.Desc, m.Desc.ParentFile()) {
			m = nil
		}
		switch {
		case strings.TrimSpace(name) == "":
			r.ms.add(at, "%s names an empty timeout: write the timeout message's name, as in timeouts: [\"BillingOverdue\"], or leave the entry out", r.where)
		case m == nil:
			r.ms.add(at, "%s names timeout %q, which is not a message of %s or of a file it imports: name a message by its full name (\"%s.%s\") or by its name in package %s, and import its file", r.where, name, r.f.Desc.Path(), r.f.Desc.Package(), strings.TrimPrefix(name, "."), r.f.Desc.Package())
		case seen[m.Desc.FullName()]:
			r.ms.add(at, "%s names timeout %s twice: leave one of them out", r.where, m.Desc.FullName())
		case handled[m.Desc.FullName()]:
			r.ms.add(at, "%s names timeout %s, which it also handles: a message is either one the saga handles (a command or an event) or a timeout it schedules to itself (a plain message); list it in one place only", r.where, m.Desc.FullName())
		case m == r.m:
			r.ms.add(at, "%s names its own state as a timeout: declare a message of its own for the timeout, as in message BillingOverdue {}", r.where)
		case kindOrReply(m) != "":
			r.ms.add(at, "%s names timeout %s, which is %s: a timeout goes only to the saga's own endpoint, so it must be a plain message; declare a message of its own for the timeout", r.where, m.Desc.FullName(), kindOrReply(m))
		default:
			seen[m.Desc.FullName()] = true
			s.timeouts = append(s.timeouts, &sagaTimeout{
				msg:     m,
				Method:  "Timeout" + m.GoIdent.GoName,
				Request: "Request" + s.stem + m.GoIdent.GoName,
			})
			continue
		}
		ok = false
	}
	return ok
}

// sagaMethods reports two messages of the saga whose Go names, and so
// whose methods, are the same: messages of different packages.
func (r reader) sagaMethods(s *saga) bool {
	seen := map[string]*protogen.Message{}
	ok := true
	claim := func(method string, m *protogen.Message) {
		if other := seen[method]; other != nil {
			r.ms.add(r.pos(sagaExt(), sagaHandlesField), "%s: %s and %s would both have the method %s of %s: a saga cannot handle two messages of one Go name; handle one of them in a saga of its own, or rename one", r.where, other.Desc.FullName(), m.Desc.FullName(), method, s.names.Interface)
			ok = false
			return
		}
		seen[method] = m
	}
	for _, h := range s.handles {
		claim(h.Method, h.msg)
	}
	for _, t := range s.timeouts {
		claim(t.Method, t.msg)
	}
	return ok
}

// sagaEndpoint reports a saga that handles commands of two endpoints: a
// saga runs on one endpoint, which receives the commands routed to it.
func (r reader) sagaEndpoint(s *saga) bool {
	var first *sagaHandle
	for _, h := range s.handles {
		if h.kind != kindCommand {
			continue
		}
		if first == nil {
			first = h
			continue
		}
		if a, b := commandEndpoint(first.msg), commandEndpoint(h.msg); a != b {
			r.ms.add(r.pos(sagaExt(), sagaHandlesField), "%s handles command %s of endpoint %q and command %s of endpoint %q: a saga runs on one endpoint, so every command it handles must be sent to that endpoint; route them to one endpoint, or split the saga", r.where, first.msg.Desc.FullName(), a, h.msg.Desc.FullName(), b)
			return false
		}
	}
	return true
}

// commandEndpoint is the endpoint command m names.
func commandEndpoint(m *protogen.Message) string {
	return proto.GetExtension(m.Desc.Options(), gobusv1.E_Command).(*gobusv1.CommandOptions).GetEndpoint()
}

// fieldByName is m's field called name, or nil.
func fieldByName(m *protogen.Message, name string) *protogen.Field {
	for _, f := range m.Fields {
		if string(f.Desc.Name()) == name {
			return f
		}
	}
	return nil
}

// fieldNames lists the fields of m for error messages.
func fieldNames(m *protogen.Message) string {
	if len(m.Fields) == 0 {
		return "it has none"
	}
	names := make([]string, len(m.Fields))
	for i, f := range m.Fields {
		names[i] = string(f.Desc.Name())
	}
	return strings.Join(names, ", ")
}

// correlationKind says why fld cannot hold a correlation value, or is ""
// if it can.
func correlationKind(fld *protogen.Field) string {
	d := fld.Desc
	switch {
	case d.IsMap():
		return "is a map"
	case d.IsList():
		return "is repeated"
	case d.ContainingOneof() != nil && !d.ContainingOneof().IsSynthetic():
		return fmt.Sprintf("is in oneof %s", d.ContainingOneof().Name())
	case d.Kind() == protoreflect.BoolKind:
		return "is of type bool, which has two values, so the saga could never have more than two instances"
	case scalarGoType(d.Kind()) == "":
		return fmt.Sprintf("is of type %s", kindName(fld))
	}
	return ""
}

// kindName is the type of fld as a .proto file writes it.
func kindName(fld *protogen.Field) string {
	switch fld.Desc.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(fld.Desc.Message().FullName())
	case protoreflect.EnumKind:
		return "enum " + string(fld.Desc.Enum().FullName())
	}
	return fld.Desc.Kind().String()
}

// scalarGoType is the Go type of a field of kind k that may hold a
// correlation value, or "": fields of one Go type hold the same values,
// whatever their encoding.
func scalarGoType(k protoreflect.Kind) string {
	switch k {
	case protoreflect.StringKind:
		return "string"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "uint32"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "uint64"
	}
	return ""
}
