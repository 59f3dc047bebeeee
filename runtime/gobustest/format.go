package gobustest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// describe writes msg as its type and its set fields, such as
// shop.sales.v1.OrderPlaced{order_id:"o-1" total_cents:2500}: the same
// text in every build, unlike prototext's, so failure messages can be
// compared.
func describe(msg proto.Message) string {
	if msg == nil || !msg.ProtoReflect().IsValid() {
		return "<nil>"
	}
	var b strings.Builder
	m := msg.ProtoReflect()
	b.WriteString(string(m.Descriptor().FullName()))
	writeFields(&b, m)
	return b.String()
}

// writeFields writes m's set fields in field-number order, in braces.
func writeFields(b *strings.Builder, m protoreflect.Message) {
	b.WriteByte('{')
	fields := m.Descriptor().Fields()
	first := true
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(string(fd.Name()))
		b.WriteByte(':')
		writeValue(b, fd, m.Get(fd))
	}
	b.WriteByte('}')
}

func writeValue(b *strings.Builder, fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch {
	case fd.IsList():
		l := v.List()
		b.WriteByte('[')
		for i := range l.Len() {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeScalar(b, fd, l.Get(i))
		}
		b.WriteByte(']')
	case fd.IsMap():
		var entries []string
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			var e strings.Builder
			fmt.Fprintf(&e, "%v:", k.Interface())
			writeScalar(&e, fd.MapValue(), mv)
			entries = append(entries, e.String())
			return true
		})
		sort.Strings(entries)
		b.WriteString("map[" + strings.Join(entries, " ") + "]")
	default:
		writeScalar(b, fd, v)
	}
}

func writeScalar(b *strings.Builder, fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		writeFields(b, v.Message())
	case protoreflect.StringKind:
		b.WriteString(strconv.Quote(v.String()))
	case protoreflect.BytesKind:
		b.WriteString(strconv.Quote(string(v.Bytes())))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			b.WriteString(string(ev.Name()))
		} else {
			b.WriteString(strconv.Itoa(int(v.Enum())))
		}
	default:
		fmt.Fprint(b, v.Interface())
	}
}
