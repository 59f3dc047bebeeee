package genasyncapi

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoSchema is the .proto source of m for the message's payload: a file
// of its own, with m and every message and enum of m's package that m uses,
// directly or not, in the order the contract declares them, with their
// comments. AsyncAPI's protobuf schema parsers take one self-contained
// file and no imports but google/protobuf's, so the gobus options and the
// rest of the package are left out; m is the one message of the file that
// no other uses, which is how those parsers find the payload's type.
//
// Types of other packages are referred to by their full name; only
// google/protobuf's are imported. A nested message is marked @RootNode.
func protoSchema(file *protogen.File, m *protogen.Message) string {
	used := map[protoreflect.FullName]bool{}
	imports := map[string]bool{}
	collectUsed(m.Desc, file.Desc.Package(), used, imports)

	var b strings.Builder
	fmt.Fprintf(&b, "syntax = %q;\n\npackage %s;\n", syntaxOf(file), file.Desc.Package())
	if len(imports) > 0 {
		b.WriteString("\n")
		for _, imp := range sortedKeys(imports) {
			fmt.Fprintf(&b, "import %q;\n", imp)
		}
	}
	for _, e := range file.Enums {
		if used[e.Desc.FullName()] {
			b.WriteString("\n")
			writeEnum(&b, e, "")
		}
	}
	for _, other := range file.Messages {
		if used[other.Desc.FullName()] {
			b.WriteString("\n")
			writeMessage(&b, file, other, "", m.Desc.FullName())
		}
	}
	return b.String()
}

// collectUsed marks the top-level message of md and, transitively, the
// top-level messages and enums of package pkg its fields use; imports
// gathers the google/protobuf files of the well-known types used.
func collectUsed(md protoreflect.MessageDescriptor, pkg protoreflect.FullName, used map[protoreflect.FullName]bool, imports map[string]bool) {
	top := md
	for {
		parent, ok := top.Parent().(protoreflect.MessageDescriptor)
		if !ok {
			break
		}
		top = parent
	}
	if used[top.FullName()] {
		return
	}
	used[top.FullName()] = true
	var visit func(protoreflect.MessageDescriptor)
	visit = func(d protoreflect.MessageDescriptor) {
		fields := d.Fields()
		for i := range fields.Len() {
			useField(fields.Get(i), pkg, used, imports)
		}
		nested := d.Messages()
		for i := range nested.Len() {
			visit(nested.Get(i))
		}
	}
	visit(top)
}

func useField(fd protoreflect.FieldDescriptor, pkg protoreflect.FullName, used map[protoreflect.FullName]bool, imports map[string]bool) {
	if fd.IsMap() {
		useField(fd.MapValue(), pkg, used, imports)
		return
	}
	var d protoreflect.Descriptor
	switch {
	case fd.Message() != nil:
		d = fd.Message()
	case fd.Enum() != nil:
		d = fd.Enum()
	default:
		return
	}
	path := d.ParentFile().Path()
	switch {
	case strings.HasPrefix(path, "google/protobuf/"):
		imports[path] = true
	case d.ParentFile().Package() != pkg:
	case fd.Message() != nil:
		collectUsed(fd.Message(), pkg, used, imports)
	default:
		e := fd.Enum()
		if parent, ok := e.Parent().(protoreflect.MessageDescriptor); ok {
			collectUsed(parent, pkg, used, imports)
		} else {
			used[e.FullName()] = true
		}
	}
}

func syntaxOf(f *protogen.File) string {
	if f.Desc.Syntax() == protoreflect.Proto2 {
		return "proto2"
	}
	return "proto3"
}

func writeComment(b *strings.Builder, c protogen.Comments, indent string) {
	text := strings.TrimSuffix(string(c), "\n")
	if text == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(indent + "//" + strings.TrimRight(line, " ") + "\n")
	}
}

// writeMessage writes m and its nested types. A nested root, the payload's
// type, is marked @RootNode for the parsers, which otherwise take the
// top-level message.
func writeMessage(b *strings.Builder, file *protogen.File, m *protogen.Message, indent string, root protoreflect.FullName) {
	writeComment(b, m.Comments.Leading, indent)
	if m.Desc.FullName() == root && indent != "" {
		b.WriteString(indent + "// @RootNode\n")
	}
	fmt.Fprintf(b, "%smessage %s {\n", indent, m.Desc.Name())
	in := indent + "  "
	for _, e := range m.Enums {
		writeEnum(b, e, in)
	}
	for _, n := range m.Messages {
		if !n.Desc.IsMapEntry() {
			writeMessage(b, file, n, in, root)
		}
	}
	var oneofDone []*protogen.Oneof
	for _, f := range m.Fields {
		if o := f.Oneof; o != nil && !o.Desc.IsSynthetic() {
			if !slices.Contains(oneofDone, o) {
				oneofDone = append(oneofDone, o)
				writeComment(b, o.Comments.Leading, in)
				fmt.Fprintf(b, "%soneof %s {\n", in, o.Desc.Name())
				for _, of := range o.Fields {
					writeField(b, file, of, in+"  ", true)
				}
				b.WriteString(in + "}\n")
			}
			continue
		}
		writeField(b, file, f, in, false)
	}
	b.WriteString(indent + "}\n")
}

func writeField(b *strings.Builder, file *protogen.File, f *protogen.Field, indent string, inOneof bool) {
	writeComment(b, f.Comments.Leading, indent)
	fd := f.Desc
	label := ""
	switch {
	case inOneof || fd.IsMap():
	case fd.Cardinality() == protoreflect.Repeated:
		label = "repeated "
	case fd.Cardinality() == protoreflect.Required:
		label = "required "
	case file.Desc.Syntax() == protoreflect.Proto2, fd.HasPresence() && fd.Message() == nil:
		label = "optional "
	}
	typ := typeName(fd, file.Desc.Package())
	if fd.IsMap() {
		typ = fmt.Sprintf("map<%s, %s>", typeName(fd.MapKey(), file.Desc.Package()), typeName(fd.MapValue(), file.Desc.Package()))
	}
	fmt.Fprintf(b, "%s%s%s %s = %d;\n", indent, label, typ, fd.Name(), fd.Number())
}

// typeName is the type of fd as the schema writes it: scalars by name,
// types of pkg relative to it, others by full name.
func typeName(fd protoreflect.FieldDescriptor, pkg protoreflect.FullName) string {
	var full protoreflect.FullName
	switch {
	case fd.Message() != nil:
		full = fd.Message().FullName()
	case fd.Enum() != nil:
		full = fd.Enum().FullName()
	default:
		return fd.Kind().String()
	}
	if prefix := string(pkg) + "."; pkg != "" && strings.HasPrefix(string(full), prefix) {
		return strings.TrimPrefix(string(full), prefix)
	}
	return "." + string(full)
}

func writeEnum(b *strings.Builder, e *protogen.Enum, indent string) {
	writeComment(b, e.Comments.Leading, indent)
	fmt.Fprintf(b, "%senum %s {\n", indent, e.Desc.Name())
	for _, v := range e.Values {
		writeComment(b, v.Comments.Leading, indent+"  ")
		fmt.Fprintf(b, "%s  %s = %d;\n", indent, v.Desc.Name(), v.Desc.Number())
	}
	b.WriteString(indent + "}\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
