package gengobus

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// eventFilterFieldsField is the number of EventOptions.filter_fields.
var eventFilterFieldsField = fieldNumber(&gobusv1.EventOptions{}, "filter_fields")

// filterFields reads the filter fields an event names, in order, and
// whether they are all valid: each names a singular scalar field of the
// event (string, integer, bool or enum), at most topology.MaxFilterFields
// of them, none twice.
func (r reader) filterFields(names []string) ([]*protogen.Field, bool) {
	if len(names) == 0 {
		return nil, true
	}
	at := r.pos(gobusv1.E_Event.TypeDescriptor().Number(), eventFilterFieldsField)
	if len(names) > topology.MaxFilterFields {
		r.ms.add(at, "%s names %d filter fields, and gobus allows at most %d, so that its subject stays within NATS's control line: keep the fields subscribers filter on most", r.where, len(names), topology.MaxFilterFields)
		return nil, false
	}
	fields := make([]*protogen.Field, 0, len(names))
	seen := map[string]bool{}
	ok := true
	for _, name := range names {
		f := r.filterField(name, at)
		switch {
		case f == nil:
			ok = false
		case seen[name]:
			r.ms.add(at, "%s names filter field %q twice: name each field once", r.where, name)
			ok = false
		default:
			seen[name] = true
			fields = append(fields, f)
		}
	}
	return fields, ok
}

// filterField returns the field of the event called name, or nil after
// reporting why it cannot be a filter field.
func (r reader) filterField(name string, at position) *protogen.Field {
	f := fieldByName(r.m, name)
	if f == nil {
		r.ms.add(at, "%s: filter field %q is not a field of the message: name one of its fields (%s), by its proto name", r.where, name, fieldNames(r.m))
		return nil
	}
	what := ""
	switch {
	case f.Desc.IsMap():
		what = "a map"
	case f.Desc.IsList():
		what = "repeated"
	case f.Oneof != nil && !f.Oneof.Desc.IsSynthetic():
		what = "in oneof " + string(f.Oneof.Desc.Name())
	case matchType(f) == nil:
		what = "a " + f.Desc.Kind().String()
	}
	if what != "" {
		r.ms.add(at, "%s: filter field %q is %s, and a filter field's value becomes one subject token: name a singular string, integer, bool or enum field, or add one that holds what subscribers filter on", r.where, name, what)
		return nil
	}
	return f
}

// matchType is the Go type parameter of a filter field's gobus.Match, nil
// for a kind that cannot be a filter field.
func matchType(f *protogen.Field) *jen.Statement {
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return jen.String()
	case protoreflect.BoolKind:
		return jen.Bool()
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return jen.Int32()
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return jen.Int64()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return jen.Uint32()
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return jen.Uint64()
	case protoreflect.EnumKind:
		return jen.Qual(string(f.Enum.GoIdent.GoImportPath), f.Enum.GoIdent.GoName)
	}
	return nil
}

// checkFilteredSubjects reports an event whose subject, followed by other
// tokens, is a filtered event's subject with its filter tokens: the
// subscribers of the filtered event would receive it.
func checkFilteredSubjects(files []*contractFile, ms *mistakes) {
	for _, f := range files {
		for _, c := range f.messages {
			if len(c.filter) == 0 {
				continue
			}
			for _, g := range files {
				for _, o := range g.messages {
					if o.kind == kindEvent && strings.HasPrefix(o.subject, c.subject+".") {
						ms.add(o.at, "message %s routes to subject <prefix>.evt.%s, under the subject of event %s, whose filter fields' values follow its subject: subscribers of %s would receive it; give one of them another subject with the subject option", o.msg.Desc.FullName(), o.subject, c.msg.Desc.FullName(), c.msg.GoIdent.GoName)
					}
				}
			}
		}
	}
}

// emitFilter writes the filter type of an event with filter fields and
// its Filter method.
func emitFilter(f *jen.File, c *contract) {
	name := c.msg.GoIdent.GoName
	var fields []jen.Code
	var conds []jen.Code
	var names []string
	for i, fld := range c.filter {
		if i > 0 {
			fields = append(fields, jen.Line())
		}
		fields = append(fields,
			commentBlock(fmt.Sprintf("%s takes the events whose %s is gobus.Is(value); the zero Match takes any.", fld.GoName, fld.Desc.Name())),
			jen.Id(fld.GoName).Add(rt("Match")).Types(matchType(fld)),
		)
		conds = append(conds, jen.Id("f").Dot(fld.GoName))
		names = append(names, string(fld.Desc.Name()))
	}
	docComment(f, fmt.Sprintf("%s selects the %s events a handler receives by their filter "+
		"fields, %s: pass it to %s, and the server delivers only the events that match one of "+
		"the filters given.", c.names.Filter, name, strings.Join(names, ", "), c.names.Register))
	f.Type().Id(c.names.Filter).Struct(fields...)
	docComment(f, "Filter returns f as the runtime's subscription filter.")
	f.Func().Params(jen.Id("f").Id(c.names.Filter)).Id("Filter").Params().Add(rt("Filter")).
		Block(jen.Return(rt("NewFilter").Call(conds...)))
}

// filterNames are the proto names of c's filter fields, as literals.
func filterNames(c *contract) []jen.Code {
	out := make([]jen.Code, len(c.filter))
	for i, f := range c.filter {
		out[i] = jen.Lit(string(f.Desc.Name()))
	}
	return out
}
