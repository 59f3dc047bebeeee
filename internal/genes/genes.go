// Package genes is the generator behind protoc-gen-gobus-es: TypeScript
// routes, typed send and publish functions, handler interfaces and their
// registration, over the @gobusdev/gobus runtime (clients/typescript) and
// the types protoc-gen-es writes.
//
// For a.proto it writes a_gobus.ts next to protoc-gen-es's a_pb.ts. The
// parameter runtime_import=<module> names the runtime's module (default
// @gobusdev/gobus); import_extension=<ext> the extension of relative
// imports (default js, as protoc-gen-es's import_extension=js).
package genes

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// Version is the version of protoc-gen-gobus-es, written into every file.
const Version = "0.1.0"

// contract is a command or an event of one file.
type contract struct {
	msg        *protogen.Message
	name       string // protoc-gen-es's name: Outer_Inner
	endpoint   string // commands only
	suffix     string
	replies    []*replyRef // commands only
	replyNames []string
	filter     []*protogen.Field // events only: the filter fields, in order
}

// replyRef is a message a command names as its reply.
type replyRef struct {
	msg  *protogen.Message
	file *protogen.File
	name string
}

// Generate writes a _gobus.ts file for every file to generate that
// declares commands or events.
func Generate(gen *protogen.Plugin) error {
	gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
		pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	gen.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	gen.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2023
	runtime, ext := "@gobusdev/gobus", "js"
	for _, kv := range strings.Split(gen.Request.GetParameter(), ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.TrimSpace(k) {
		case "":
		case "runtime_import":
			runtime = v
		case "import_extension":
			ext = strings.TrimPrefix(v, ".")
		default:
			return fmt.Errorf("protoc-gen-gobus-es: unknown parameter %q: use runtime_import=<module> or import_extension=<ext>", k)
		}
	}
	var mistakes []string
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		commands, events, bad := collect(f, f.Messages)
		bad = append(bad, checkFilters(f, events)...)
		mistakes = append(mistakes, bad...)
		if len(commands)+len(events) == 0 || len(bad) > 0 {
			continue
		}
		mistakes = append(mistakes, resolveReplies(gen, f, commands)...)
		base := strings.TrimSuffix(f.Desc.Path(), ".proto")
		g := gen.NewGeneratedFile(base+"_gobus.ts", "")
		emit(g, f, commands, events, runtime, func(other protoreflect.FileDescriptor) string {
			return pbImport(f, other, ext)
		})
	}
	if len(mistakes) > 0 {
		return fmt.Errorf("%s", strings.Join(mistakes, "\n"))
	}
	return nil
}

// resolveReplies finds the messages the commands name as replies: full
// names, or names relative to the command's package.
func resolveReplies(gen *protogen.Plugin, f *protogen.File, commands []*contract) (mistakes []string) {
	byName := map[string]*replyRef{}
	var walk func(*protogen.File, []*protogen.Message)
	walk = func(file *protogen.File, ms []*protogen.Message) {
		for _, m := range ms {
			byName[string(m.Desc.FullName())] = &replyRef{msg: m, file: file, name: esName(m)}
			walk(file, m.Messages)
		}
	}
	for _, file := range gen.Files {
		walk(file, file.Messages)
	}
	for _, c := range commands {
		for _, n := range c.replyNames {
			r := byName[n]
			if r == nil {
				r = byName[string(f.Desc.Package())+"."+n]
			}
			if r == nil {
				mistakes = append(mistakes, fmt.Sprintf("%s: command %s names reply %q, which is no message of this file or its imports", f.Desc.Path(), c.msg.Desc.FullName(), n))
				continue
			}
			c.replies = append(c.replies, r)
		}
	}
	return mistakes
}

// pbImport is the module protoc-gen-es wrote other's types to, relative
// to f's generated file.
func pbImport(f *protogen.File, other protoreflect.FileDescriptor, ext string) string {
	from := path.Dir(f.Desc.Path())
	to := strings.TrimSuffix(other.Path(), ".proto") + "_pb" + dotExt(ext)
	rel := relPath(from, to)
	if !strings.HasPrefix(rel, ".") {
		rel = "./" + rel
	}
	return rel
}

// relPath is the slash path from directory dir to target.
func relPath(dir, target string) string {
	d := strings.Split(dir, "/")
	t := strings.Split(target, "/")
	if dir == "." {
		d = nil
	}
	i := 0
	for i < len(d) && i < len(t)-1 && d[i] == t[i] {
		i++
	}
	parts := []string{}
	for range d[i:] {
		parts = append(parts, "..")
	}
	return strings.Join(append(parts, t[i:]...), "/")
}

func dotExt(ext string) string {
	if ext == "" || ext == "none" {
		return ""
	}
	return "." + ext
}

func collect(f *protogen.File, msgs []*protogen.Message) (commands, events []*contract, mistakes []string) {
	for _, m := range msgs {
		opts := m.Desc.Options()
		isCmd := opts != nil && proto.HasExtension(opts, gobusv1.E_Command)
		isEvt := opts != nil && proto.HasExtension(opts, gobusv1.E_Event)
		c := &contract{msg: m, name: esName(m)}
		switch {
		case isCmd && isEvt:
			mistakes = append(mistakes, fmt.Sprintf("%s: message %s is marked both a command and an event: keep one of the two options", f.Desc.Path(), m.Desc.FullName()))
		case isCmd:
			o := proto.GetExtension(opts, gobusv1.E_Command).(*gobusv1.CommandOptions)
			if o.GetEndpoint() == "" {
				mistakes = append(mistakes, fmt.Sprintf("%s: command %s names no endpoint: write option (gobus.v1.command) = {endpoint: \"...\"}", f.Desc.Path(), m.Desc.FullName()))
				break
			}
			c.endpoint, c.suffix = o.GetEndpoint(), suffix(m, o.GetSubject())
			c.replyNames = o.GetReplies()
			commands = append(commands, c)
		case isEvt:
			o := proto.GetExtension(opts, gobusv1.E_Event).(*gobusv1.EventOptions)
			c.suffix = suffix(m, o.GetSubject())
			for _, name := range o.GetFilterFields() {
				c.filter = append(c.filter, fieldNamed(m, name))
			}
			events = append(events, c)
		}
		cs, es, bad := collect(f, m.Messages)
		commands, events, mistakes = append(commands, cs...), append(events, es...), append(mistakes, bad...)
	}
	return commands, events, mistakes
}

func suffix(m *protogen.Message, subject string) string {
	if subject != "" {
		return subject
	}
	return string(m.Desc.FullName())
}

// esName is protoc-gen-es's name of m: its name within the package, with
// '_' for '.'.
func esName(m *protogen.Message) string { return esNameOf(m.Desc) }

// esNameOf is protoc-gen-es's name of a message or enum d.
func esNameOf(d protoreflect.Descriptor) string {
	full := string(d.FullName())
	if pkg := string(d.ParentFile().Package()); pkg != "" {
		full = strings.TrimPrefix(full, pkg+".")
	}
	return strings.ReplaceAll(full, ".", "_")
}

// pascal is an endpoint name as a TypeScript identifier: sales → Sales,
// warehouse-sync → WarehouseSync.
func pascal(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
		up = false
	}
	return b.String()
}

func emit(g *protogen.GeneratedFile, f *protogen.File, commands, events []*contract, runtime string, importOf func(protoreflect.FileDescriptor) string) {
	p := func(format string, args ...any) { fmt.Fprintf(g, format+"\n", args...) }
	p("// Code generated by protoc-gen-gobus-es v%s. DO NOT EDIT.", Version)
	p("// source: %s", f.Desc.Path())
	p("")
	p("/* eslint-disable */")
	p("")
	var replies []*replyRef
	for _, c := range commands {
		for _, r := range c.replies {
			if !slices.Contains(replies, r) {
				replies = append(replies, r)
			}
		}
	}
	var rt []string
	if len(commands) > 0 {
		rt = append(rt, "command")
	}
	if len(events) > 0 {
		rt = append(rt, "event")
	}
	if len(replies) > 0 {
		rt = append(rt, "reply", "type Client")
	}
	rt = append(rt, "type Endpoint", "type MessageContext")
	if len(events) > 0 {
		rt = append(rt, "type Publisher")
	}
	if len(replies) > 0 {
		rt = append(rt, "type RequestOptions")
	}
	if len(commands) > 0 {
		rt = append(rt, "type Sender")
	}
	rt = append(rt, "type SendOptions")
	p("import { %s } from %q;", strings.Join(rt, ", "), runtime)
	var modules []string
	types, schemas := map[string][]string{}, map[string][]string{}
	use := func(file protoreflect.FileDescriptor, name string) {
		m := importOf(file)
		if !slices.Contains(modules, m) {
			modules = append(modules, m)
		}
		if !slices.Contains(types[m], name) {
			types[m] = append(types[m], name)
			schemas[m] = append(schemas[m], name+"Schema")
		}
	}
	for _, c := range append(append([]*contract{}, commands...), events...) {
		use(f.Desc, c.name)
	}
	useType := func(file protoreflect.FileDescriptor, name string) {
		m := importOf(file)
		if !slices.Contains(modules, m) {
			modules = append(modules, m)
		}
		if !slices.Contains(types[m], name) {
			types[m] = append(types[m], name)
		}
	}
	for _, c := range events {
		for _, fld := range c.filter {
			if fld.Enum != nil {
				useType(fld.Enum.Desc.ParentFile(), esNameOf(fld.Enum.Desc))
			}
		}
	}
	for _, r := range replies {
		use(r.file.Desc, r.name)
	}
	for _, m := range modules {
		p("import type { %s } from %q;", strings.Join(types[m], ", "), m)
		if len(schemas[m]) > 0 {
			p("import { %s } from %q;", strings.Join(schemas[m], ", "), m)
		}
	}
	for _, r := range replies {
		p("")
		p("/** %sReplyRoute routes the reply %s. */", r.name, r.msg.Desc.FullName())
		p("export const %sReplyRoute = reply(%sSchema);", r.name, r.name)
		p("")
		p("/** reply%s answers the command ctx is handling with msg, sent after the handler succeeds to whoever asked. */", r.name)
		p("export function reply%s(ctx: MessageContext, msg: %s): Promise<void> {", r.name, r.name)
		p("  return ctx.reply(%sReplyRoute, msg);", r.name)
		p("}")
	}

	var endpoints []string
	byEndpoint := map[string][]*contract{}
	for _, c := range commands {
		if byEndpoint[c.endpoint] == nil {
			endpoints = append(endpoints, c.endpoint)
		}
		byEndpoint[c.endpoint] = append(byEndpoint[c.endpoint], c)
		p("")
		p("/** %sRoute routes the command %s to endpoint %s. */", c.name, c.msg.Desc.FullName(), c.endpoint)
		var replyRoutes, replyTypes []string
		for _, r := range c.replies {
			replyRoutes = append(replyRoutes, r.name+"ReplyRoute")
			replyTypes = append(replyTypes, r.name)
		}
		if len(c.replies) == 0 {
			p("export const %sRoute = command(%sSchema, %q, %q);", c.name, c.name, c.endpoint, c.suffix)
		} else {
			p("export const %sRoute = command(%sSchema, %q, %q, [%s]);", c.name, c.name, c.endpoint, c.suffix, strings.Join(replyRoutes, ", "))
		}
		p("")
		doc(g, c, "send"+c.name+" sends "+c.name+" to endpoint "+c.endpoint+" and waits until JetStream stored it; inside a handler, once the handler succeeded.")
		p("export function send%s(via: Sender, msg: %s, opts?: SendOptions): Promise<void> {", c.name, c.name)
		p("  return via.send(%sRoute, msg, opts);", c.name)
		p("}")
		if len(c.replies) > 0 {
			p("")
			doc(g, c, "request"+c.name+" sends "+c.name+" to endpoint "+c.endpoint+" and waits for its reply ("+strings.Join(replyTypes, " or ")+") on a subject of the client's own.")
			p("export function request%s(client: Client, msg: %s, opts?: RequestOptions): Promise<%s> {", c.name, c.name, strings.Join(replyTypes, " | "))
			p("  return client.request(%sRoute, msg, [%s], opts) as Promise<%s>;", c.name, strings.Join(replyRoutes, ", "), strings.Join(replyTypes, " | "))
			p("}")
			p("")
			p("/**")
			p(" * %sReplyHandler handles, in the queue of the endpoint that sent them, the", c.name)
			p(" * replies to its %s commands: durable replies, which wait while the", c.name)
			p(" * endpoint is down. ctx.causationId is the id of the command a reply answers.")
			p(" */")
			p("export interface %sReplyHandler {", c.name)
			for _, r := range c.replies {
				p("  handle%sReply(ctx: MessageContext, msg: %s): Promise<void>;", r.name, r.name)
			}
			p("}")
			p("")
			p("/** register%sReplyHandler has ep handle the replies to the %s commands it sends. */", c.name, c.name)
			p("export function register%sReplyHandler(ep: Endpoint, h: %sReplyHandler): void {", c.name, c.name)
			for _, r := range c.replies {
				p("  ep.handleReply(%sRoute, %sReplyRoute, (ctx, msg) => h.handle%sReply(ctx, msg));", c.name, r.name, r.name)
			}
			p("}")
		}
	}
	for _, c := range commands {
		p("")
		p("/** %sHandler handles the command %s. */", c.name, c.msg.Desc.FullName())
		p("export interface %sHandler {", c.name)
		p("  handle%s(ctx: MessageContext, msg: %s): Promise<void>;", c.name, c.name)
		p("}")
		p("")
		p("/** register%sHandler registers h on ep, which must be endpoint %s. */", c.name, c.endpoint)
		p("export function register%sHandler(ep: Endpoint, h: %sHandler): void {", c.name, c.name)
		p("  ep.handle(%sRoute, (ctx, msg) => h.handle%s(ctx, msg));", c.name, c.name)
		p("}")
	}
	for _, ep := range endpoints {
		iface := pascal(ep) + "Handler"
		var parts []string
		for _, c := range byEndpoint[ep] {
			parts = append(parts, c.name+"Handler")
		}
		p("")
		p("/** %s handles every command of endpoint %s declared in %s. */", iface, ep, f.Desc.Path())
		p("export interface %s extends %s {}", iface, strings.Join(parts, ", "))
		p("")
		p("/** register%s registers h for every command of endpoint %s declared in %s. */", iface, ep, f.Desc.Path())
		p("export function register%s(ep: Endpoint, h: %s): void {", iface, iface)
		for _, c := range byEndpoint[ep] {
			p("  register%sHandler(ep, h);", c.name)
		}
		p("}")
	}
	for _, c := range events {
		p("")
		p("/** %sRoute routes the event %s. */", c.name, c.msg.Desc.FullName())
		if len(c.filter) == 0 {
			p("export const %sRoute = event(%sSchema, %q);", c.name, c.name, c.suffix)
		} else {
			var names []string
			for _, fld := range c.filter {
				names = append(names, fmt.Sprintf("%q", fld.Desc.Name()))
			}
			p("export const %sRoute = event(%sSchema, %q, [%s]);", c.name, c.name, c.suffix, strings.Join(names, ", "))
			emitFilter(p, c)
		}
		p("")
		doc(g, c, "publish"+c.name+" publishes "+c.name+" and waits until JetStream stored it; inside a handler, once the handler succeeded.")
		p("export function publish%s(via: Publisher, msg: %s, opts?: SendOptions): Promise<void> {", c.name, c.name)
		p("  return via.publish(%sRoute, msg, opts);", c.name)
		p("}")
		p("")
		p("/** %sHandler handles the event %s. */", c.name, c.msg.Desc.FullName())
		p("export interface %sHandler {", c.name)
		p("  handle%s(ctx: MessageContext, msg: %s): Promise<void>;", c.name, c.name)
		p("}")
		p("")
		if len(c.filter) == 0 {
			p("/** register%sHandler subscribes ep to %s. */", c.name, c.msg.Desc.FullName())
			p("export function register%sHandler(ep: Endpoint, h: %sHandler): void {", c.name, c.name)
			p("  ep.handle(%sRoute, (ctx, msg) => h.handle%s(ctx, msg));", c.name, c.name)
			p("}")
			continue
		}
		p("/**")
		p(" * register%sHandler subscribes ep to %s: to the events that match", c.name, c.msg.Desc.FullName())
		p(" * one of filters, filtered on the server, or to every one without filters.")
		p(" */")
		p("export function register%sHandler(ep: Endpoint, h: %sHandler, ...filters: %sFilter[]): void {", c.name, c.name, c.name)
		p("  ep.handle(%sRoute, (ctx, msg) => h.handle%s(ctx, msg), filters);", c.name, c.name)
		p("}")
	}
}

// emitFilter writes the filter type of an event with filter fields.
func emitFilter(p func(string, ...any), c *contract) {
	var names []string
	for _, fld := range c.filter {
		names = append(names, string(fld.Desc.Name()))
	}
	p("")
	p("/**")
	p(" * %sFilter selects the %s events a handler receives by their filter", c.name, c.name)
	p(" * fields, %s: pass it to register%sHandler, and the server delivers", strings.Join(names, ", "), c.name)
	p(" * only the events that match one of the filters given. A field left out")
	p(" * takes any value.")
	p(" */")
	p("export type %sFilter = {", c.name)
	for _, fld := range c.filter {
		p("  /** The events whose %s is this value. */", fld.Desc.Name())
		p("  %s?: %s;", esFieldName(string(fld.Desc.Name())), tsType(fld))
	}
	p("};")
}

// fieldNamed is m's field with proto name name, or nil.
func fieldNamed(m *protogen.Message, name string) *protogen.Field {
	for _, f := range m.Fields {
		if string(f.Desc.Name()) == name {
			return f
		}
	}
	return nil
}

// checkFilters reports the filter fields that cannot be: missing, not
// singular, or of a kind that is no subject token, as protoc-gen-gobus
// does.
func checkFilters(f *protogen.File, events []*contract) (mistakes []string) {
	for _, c := range events {
		names := proto.GetExtension(c.msg.Desc.Options(), gobusv1.E_Event).(*gobusv1.EventOptions).GetFilterFields()
		if len(names) > topology.MaxFilterFields {
			mistakes = append(mistakes, fmt.Sprintf("%s: event %s names %d filter fields, and gobus allows at most %d", f.Desc.Path(), c.msg.Desc.FullName(), len(names), topology.MaxFilterFields))
		}
		for i, fld := range c.filter {
			switch {
			case fld == nil:
				mistakes = append(mistakes, fmt.Sprintf("%s: event %s: filter field %q is not a field of the message", f.Desc.Path(), c.msg.Desc.FullName(), names[i]))
			case fld.Desc.IsList() || fld.Desc.IsMap() || (fld.Oneof != nil && !fld.Oneof.Desc.IsSynthetic()) || tsType(fld) == "":
				mistakes = append(mistakes, fmt.Sprintf("%s: event %s: filter field %q is not a singular string, integer, bool or enum field", f.Desc.Path(), c.msg.Desc.FullName(), names[i]))
			}
		}
	}
	return mistakes
}

// tsType is the TypeScript type protoc-gen-es gives a filter field, "" for
// a kind that cannot be one.
func tsType(f *protogen.Field) string {
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return "string"
	case protoreflect.BoolKind:
		return "boolean"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "number"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "bigint"
	case protoreflect.EnumKind:
		return esNameOf(f.Enum.Desc)
	}
	return ""
}

// esFieldName is protoc-gen-es's property name of a field: the proto name
// in lower camel case, as protobuf-es's protoCamelCase makes it.
func esFieldName(name string) string {
	var b strings.Builder
	up := false
	for _, r := range name {
		switch {
		case r == '_':
			up = true
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			up = false
		case up:
			b.WriteRune(unicode.ToUpper(r))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// doc writes a function's doc comment: the contract's comment, then what
// the function does.
func doc(g *protogen.GeneratedFile, c *contract, what string) {
	fmt.Fprintln(g, "/**")
	if text := strings.TrimSpace(string(c.msg.Comments.Leading)); text != "" {
		for _, line := range strings.Split(strings.TrimRight(string(c.msg.Comments.Leading), "\n"), "\n") {
			fmt.Fprintln(g, strings.TrimRight(" *"+strings.ReplaceAll(line, "*/", "* /"), " "))
		}
		fmt.Fprintln(g, " *")
	}
	fmt.Fprintln(g, " * "+what)
	fmt.Fprintln(g, " */")
}
