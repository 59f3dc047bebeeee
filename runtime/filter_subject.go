package gobus

import (
	"reflect"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gobusdev/gobus/internal/topology"
)

// filteredSubject is subject, an event's, followed by the subject tokens
// of out's filter fields, as docs/wire.md says.
func filteredSubject(subject string, out Outgoing) (string, error) {
	m := out.Message.ProtoReflect()
	fields := m.Descriptor().Fields()
	var b strings.Builder
	b.WriteString(subject)
	for _, name := range out.Route.Filter {
		fd := fields.ByName(protoreflect.Name(name))
		if fd == nil || fd.Cardinality() == protoreflect.Repeated {
			return "", invalidf("event %s: filter field %q is not a singular field of %s", out.Route.Type, name, m.Descriptor().FullName())
		}
		text, ok := fieldText(fd, m.Get(fd))
		if !ok {
			return "", invalidf("event %s: filter field %q is a %s, and filter fields are strings, integers, bools or enums", out.Route.Type, name, fd.Kind())
		}
		b.WriteByte('.')
		b.WriteString(topology.FilterToken(text))
	}
	return b.String(), nil
}

// fieldText is the value v of field fd as its filter token escapes it,
// the same text [Is] makes of the Go value.
func fieldText(fd protoreflect.FieldDescriptor, v protoreflect.Value) (string, bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String(), true
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool()), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10), true
	case protoreflect.EnumKind:
		return strconv.FormatInt(int64(v.Enum()), 10), true
	}
	return "", false
}

// filteredOn reports whether subject is one a filtered event of route r
// arrives on: want, the event's subject, alone (published before its
// contract named filter fields) or followed by tokens.
func filteredOn(r Route, want, subject string) bool {
	return len(r.Filter) > 0 && len(subject) > len(want) && subject[len(want)] == '.' && strings.HasPrefix(subject, want)
}

// eventSubjects are the consumer filter subjects that registering a
// handler for the event on route r with filters subscribes ep to.
func (ep *Endpoint) eventSubjects(r Route, filters []Filter) ([]string, error) {
	if len(filters) > 0 && len(r.Filter) == 0 {
		return nil, invalidf("event %s has no filter fields, so a handler for it cannot filter: name them in its contract, as in option (gobus.v1.event) = { filter_fields: [\"region\"] }", r.Type)
	}
	tokens := make([][]string, len(filters))
	for i, f := range filters {
		if len(f.tokens) != len(r.Filter) {
			return nil, invalidf("event %s: a filter has %d conditions, and the event has %d filter fields (%s): build filters with the generated filter type", r.Type, len(f.tokens), len(r.Filter), strings.Join(r.Filter, ", "))
		}
		tokens[i] = f.tokens
	}
	subjects, err := ep.client.names.EventFilterSubjects(r.Subject, len(r.Filter), tokens)
	if err != nil {
		return nil, invalidf("endpoint %s, event %s (filter fields %s): %v", ep.name, r.Type, strings.Join(r.Filter, ", "), err)
	}
	return subjects, nil
}

// validateFilter checks the filter field names of r: an event's, at most
// topology.MaxFilterFields, each a proto field name, none twice.
func (r Route) validateFilter() error {
	if len(r.Filter) == 0 {
		return nil
	}
	if r.Kind != KindEvent {
		return invalidf("route of %s %s names filter fields: only events have them", r.Kind, r.Type)
	}
	if len(r.Filter) > topology.MaxFilterFields {
		return invalidf("route of event %s names %d filter fields, and gobus allows at most %d, so that its subject stays short", r.Type, len(r.Filter), topology.MaxFilterFields)
	}
	seen := map[string]bool{}
	for _, name := range r.Filter {
		if !protoreflect.Name(name).IsValid() || seen[name] {
			return invalidf("route of event %s: filter field %q is not a field name, or is named twice", r.Type, name)
		}
		seen[name] = true
	}
	return nil
}

// sameRoute reports whether a and b are the same route.
func sameRoute(a, b Route) bool { return reflect.DeepEqual(a, b) }

// eventFilterSubjects are the consumer filter subjects of reg, an event's
// registration: those its filters gave, or, for a registration made
// without HandleEvent (a saga's), those of every event of its type.
func (reg *registration) eventFilterSubjects(names topology.Names) []string {
	if reg.filterSubjects != nil {
		return reg.filterSubjects
	}
	subjects, _ := names.EventFilterSubjects(reg.route.Subject, len(reg.route.Filter), nil) // no filters: no overlap
	return subjects
}
