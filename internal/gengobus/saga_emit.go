package gengobus

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
	"google.golang.org/protobuf/compiler/protogen"

	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// emitSaga writes the interface, Unimplemented type, constructor,
// registration and timeout helpers of saga s.
func emitSaga(gen *protogen.Plugin, f *jen.File, s *saga) {
	importNames(gen, f, s)
	emitSagaInterface(f, s)
	emitSagaUnimplemented(f, s)
	emitSagaNew(f, s)
	emitSagaRegister(f, s)
	for _, t := range s.timeouts {
		emitSagaRequest(f, s, t)
	}
}

// importNames has f import the Go packages of the messages of s by their
// package names (salesv1 "…/sales/v1", not v1).
func importNames(gen *protogen.Plugin, f *jen.File, s *saga) {
	add := func(m *protogen.Message) {
		if file := gen.FilesByPath[m.Desc.ParentFile().Path()]; file != nil {
			f.ImportAlias(string(file.GoImportPath), string(file.GoPackageName))
		}
	}
	for _, h := range s.handles {
		add(h.msg)
	}
	for _, t := range s.timeouts {
		add(t.msg)
	}
}

func goType(m *protogen.Message) *jen.Statement {
	return jen.Op("*").Qual(string(m.GoIdent.GoImportPath), m.GoIdent.GoName)
}

// sagaContext is *gobus.SagaContext[*State].
func sagaContext(s *saga) *jen.Statement {
	return jen.Op("*").Add(rt("SagaContext")).Types(goType(s.state))
}

func sagaParams(s *saga, m *protogen.Message, named bool) []jen.Code {
	if !named {
		return []jen.Code{jen.Qual("context", "Context"), sagaContext(s), goType(m)}
	}
	return []jen.Code{jen.Id("ctx").Qual("context", "Context"), jen.Id("sc").Add(sagaContext(s)), jen.Id("msg").Add(goType(m))}
}

func notFoundParams(m *protogen.Message, named bool) []jen.Code {
	if !named {
		return []jen.Code{jen.Qual("context", "Context"), jen.Op("*").Add(rt("MessageContext")), goType(m)}
	}
	return []jen.Code{jen.Id("ctx").Qual("context", "Context"), jen.Id("mc").Op("*").Add(rt("MessageContext")), jen.Id("msg").Add(goType(m))}
}

// kindWord is "command" or "event".
func kindWord(k kind) string {
	if k == kindCommand {
		return "command"
	}
	return "event"
}

func (s *saga) stateName() string { return s.state.GoIdent.GoName }

func emitSagaInterface(f *jen.File, s *saga) {
	var names []string
	for _, h := range s.handles {
		names = append(names, h.msg.GoIdent.GoName)
	}
	doc := fmt.Sprintf("%s handles the messages of the %s saga, whose state is %s kept between them, one instance per %s: %s.",
		s.names.Interface, s.stem, article(s.stateName()), s.correlation.Desc.Name(), strings.Join(names, ", "))
	if len(s.timeouts) > 0 {
		var ts []string
		for _, t := range s.timeouts {
			ts = append(ts, t.msg.GoIdent.GoName)
		}
		doc += fmt.Sprintf(" It schedules the timeouts %s to itself.", strings.Join(ts, ", "))
	}
	doc += fmt.Sprintf("\nA handler reads and changes the state through sc.State(); returning nil stores it, "+
		"and sends what the handler dispatched through sc; sc.Complete() ends the instance. "+
		"Embed %s to keep compiling when messages are added.", s.names.Unimplemented)
	docComment(f, doc)

	var methods []jen.Code
	for _, h := range s.handles {
		methods = append(methods, commentBlock(handleDoc(s, h)), jen.Id(h.Method).Params(sagaParams(s, h.msg, true)...).Error())
	}
	for _, t := range s.timeouts {
		methods = append(methods,
			commentBlock(fmt.Sprintf("%s handles a %s timeout the instance requested with %s.", t.Method, t.msg.GoIdent.GoName, t.Request)),
			jen.Id(t.Method).Params(sagaParams(s, t.msg, true)...).Error())
	}
	for _, h := range s.handles {
		if h.NotFound == "" {
			continue
		}
		methods = append(methods,
			commentBlock(fmt.Sprintf("%s handles %s %s for which no instance exists.", h.NotFound, article(h.msg.GoIdent.GoName), kindWord(h.kind))),
			jen.Id(h.NotFound).Params(notFoundParams(h.msg, true)...).Error())
	}
	f.Type().Id(s.names.Interface).Interface(methods...)
}

// handleDoc is the comment of the HandleX method of h.
func handleDoc(s *saga, h *sagaHandle) string {
	doc := fmt.Sprintf("%s handles %s %s for the instance whose %s is its %s", h.Method, article(h.msg.GoIdent.GoName), kindWord(h.kind), s.correlation.Desc.Name(), h.field.Desc.Name())
	switch {
	case h.starts:
		return doc + ", starting one if none exists."
	case h.ifMissing == gobusv1.SagaIfMissing_SAGA_IF_MISSING_FAIL:
		return doc + "; without one the message goes to the error stream."
	case h.ifMissing == gobusv1.SagaIfMissing_SAGA_IF_MISSING_HANDLE:
		return doc + "; without one " + h.NotFound + " handles it."
	}
	return doc + "; without one the message is logged and acknowledged."
}

func emitSagaUnimplemented(f *jen.File, s *saga) {
	docComment(f, fmt.Sprintf("%s answers every message of the %s saga with gobus.ErrUnimplemented, "+
		"which moves the message to the error stream without retries. Embed it in %s.", s.names.Unimplemented, s.stem, article(s.names.Interface)))
	f.Type().Id(s.names.Unimplemented).Struct()
	method := func(name string, m *protogen.Message, params []jen.Code) {
		docComment(f, fmt.Sprintf("%s fails with gobus.ErrUnimplemented.", name))
		f.Func().Params(jen.Id(s.names.Unimplemented)).Id(name).Params(params...).Error().
			Block(jen.Return(rt("UnimplementedError").Call(jen.Lit(string(m.Desc.FullName())))))
	}
	for _, h := range s.handles {
		method(h.Method, h.msg, sagaParams(s, h.msg, false))
	}
	for _, t := range s.timeouts {
		method(t.Method, t.msg, sagaParams(s, t.msg, false))
	}
	for _, h := range s.handles {
		if h.NotFound != "" {
			method(h.NotFound, h.msg, notFoundParams(h.msg, false))
		}
	}
}

// sagaStart is the runtime's SagaStart for h.
func sagaStart(h *sagaHandle) jen.Code {
	switch {
	case h.starts:
		return rt("SagaStarts").Call()
	case h.ifMissing == gobusv1.SagaIfMissing_SAGA_IF_MISSING_FAIL:
		return rt("SagaFailIfMissing").Call()
	case h.ifMissing == gobusv1.SagaIfMissing_SAGA_IF_MISSING_HANDLE:
		return rt("SagaHandleIfMissing").Call(jen.Id("s").Dot(h.NotFound))
	}
	return rt("SagaIgnoreIfMissing").Call()
}

func emitSagaNew(f *jen.File, s *saga) {
	args := []jen.Code{jen.Lit(string(s.state.Desc.FullName())), jen.Lit(string(s.correlation.Desc.Name()))}
	for _, h := range s.handles {
		step := "SagaEvent"
		if h.kind == kindCommand {
			step = "SagaCommand"
		}
		args = append(args, jen.Line().Add(rt(step)).Call(
			jen.Qual(string(h.msg.GoIdent.GoImportPath), h.Route),
			jen.Lit(string(h.field.Desc.Name())),
			sagaStart(h),
			jen.Id("s").Dot(h.Method),
		))
	}
	for _, t := range s.timeouts {
		args = append(args, jen.Line().Add(rt("SagaTimeout")).Call(jen.Id("s").Dot(t.Method)))
	}
	args = append(args, jen.Line())
	docComment(f, fmt.Sprintf("%s is the %s saga handled by s, for gobus.RegisterSaga or the test kit. "+
		"Its state is %s, stored by %s.", s.names.New, s.stem, s.state.Desc.FullName(), s.correlation.Desc.Name()))
	f.Func().Id(s.names.New).Params(jen.Id("s").Id(s.names.Interface)).Op("*").Add(rt("Saga")).Types(goType(s.state)).
		Block(jen.Return(rt("NewSaga").Types(goType(s.state)).Call(args...)))
}

func emitSagaRegister(f *jen.File, s *saga) {
	doc := fmt.Sprintf("%s has ep run the %s saga with s: ep handles its messages, "+
		"subscribing to its events, and keeps its instances.", s.names.Register, s.stem)
	for _, h := range s.handles {
		if h.kind == kindCommand {
			doc += fmt.Sprintf(" ep must be the %s endpoint, which the saga's commands are sent to, "+
				"or the endpoint their routes are overridden to.", commandEndpoint(h.msg))
			break
		}
	}
	docComment(f, doc)
	f.Func().Id(s.names.Register).
		Params(jen.Id("ep").Op("*").Add(rt("Endpoint")), jen.Id("s").Id(s.names.Interface)).Error().
		Block(jen.Return(rt("RegisterSaga").Call(jen.Id("ep"), jen.Id(s.names.New).Call(jen.Id("s")))))
}

func emitSagaRequest(f *jen.File, s *saga, t *sagaTimeout) {
	docComment(f, fmt.Sprintf("%s schedules msg to the instance of the %s saga that sc is handling, "+
		"delivered to %s after the given time once the handler succeeds; completing the instance cancels it.",
		t.Request, s.stem, t.Method))
	f.Func().Id(t.Request).
		Params(
			jen.Id("ctx").Qual("context", "Context"),
			jen.Id("sc").Add(sagaContext(s)),
			jen.Id("after").Qual("time", "Duration"),
			jen.Id("msg").Add(goType(t.msg)),
		).Error().
		Block(jen.Return(jen.Id("sc").Dot("RequestTimeout").Call(jen.Id("ctx"), jen.Id("after"), jen.Id("msg"))))
}
