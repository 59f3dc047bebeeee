package genasyncapi

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// pkg is one protobuf package's contracts: the unit of one document.
type pkg struct {
	name     string           // shop.sales.v1
	files    []*protogen.File // the files of the package to generate, in request order
	commands []*contract
	events   []*contract
	replies  []*contract // messages named in a command's replies (msg and file only)
}

// contract is a command or an event of the package.
type contract struct {
	msg      *protogen.Message
	file     *protogen.File
	id       string // the message's name relative to its package, '.' as '_': channel, message and operation ids
	endpoint string // commands only
	suffix   string // the subject suffix: the subject option or the full name
	replies  []string
	// filter are an event's filter fields, in order: their values' tokens
	// follow its subject.
	filter []*protogen.Field
	// replyRefs are the messages replies names, found in the request.
	replyRefs []*contract
}

// fullName is the proto full name, the message's identity on the wire.
func (c *contract) fullName() string { return string(c.msg.Desc.FullName()) }

// endpoints are the endpoints the package's commands go to, sorted.
func (p *pkg) endpoints() []string {
	var eps []string
	for _, c := range p.commands {
		if !slices.Contains(eps, c.endpoint) {
			eps = append(eps, c.endpoint)
		}
	}
	slices.Sort(eps)
	return eps
}

// collect groups the files to generate by package and reads the gobus
// options of their messages. Packages without commands or events are left
// out: they have no document.
func collect(gen *protogen.Plugin) ([]*pkg, error) {
	var pkgs []*pkg
	byName := map[string]*pkg{}
	var mistakes []string
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		name := string(f.Desc.Package())
		p := byName[name]
		if p == nil {
			p = &pkg{name: name}
			byName[name] = p
		}
		p.files = append(p.files, f)
		mistakes = append(mistakes, p.addMessages(f, f.Messages)...)
	}
	if len(mistakes) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(mistakes, "\n"))
	}
	for _, f := range gen.Files {
		p := byName[string(f.Desc.Package())]
		if f.Generate && p != nil && p.files[0] == f && len(p.commands)+len(p.events) > 0 {
			p.replies = replyMessages(gen, p)
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

// addMessages reads the options of msgs and their nested messages.
func (p *pkg) addMessages(f *protogen.File, msgs []*protogen.Message) (mistakes []string) {
	for _, m := range msgs {
		if m.Desc.IsMapEntry() {
			continue
		}
		c := &contract{msg: m, file: f, id: localID(m)}
		cmd, isCmd := extension[*gobusv1.CommandOptions](m, gobusv1.E_Command)
		evt, isEvt := extension[*gobusv1.EventOptions](m, gobusv1.E_Event)
		switch {
		case isCmd && isEvt:
			mistakes = append(mistakes, fmt.Sprintf("%s: message %s is marked both a command and an event: keep one of the two options", f.Desc.Path(), m.Desc.FullName()))
		case isCmd && cmd.GetEndpoint() == "":
			mistakes = append(mistakes, fmt.Sprintf("%s: command %s names no endpoint: write option (gobus.v1.command) = {endpoint: \"...\"}", f.Desc.Path(), m.Desc.FullName()))
		case isCmd:
			c.endpoint, c.suffix, c.replies = cmd.GetEndpoint(), subjectSuffix(m, cmd.GetSubject()), cmd.GetReplies()
			p.commands = append(p.commands, c)
		case isEvt:
			c.suffix = subjectSuffix(m, evt.GetSubject())
			for _, name := range evt.GetFilterFields() {
				fld := fieldNamed(m, name)
				if fld == nil {
					mistakes = append(mistakes, fmt.Sprintf("%s: event %s: filter field %q is not a field of the message", f.Desc.Path(), m.Desc.FullName(), name))
					continue
				}
				c.filter = append(c.filter, fld)
			}
			p.events = append(p.events, c)
		}
		mistakes = append(mistakes, p.addMessages(f, m.Messages)...)
	}
	return mistakes
}

// extension reads the gobus option xt of m, if m sets it.
func extension[T proto.Message](m *protogen.Message, xt protoreflect.ExtensionType) (T, bool) {
	var zero T
	opts := m.Desc.Options()
	if opts == nil || !proto.HasExtension(opts, xt) {
		return zero, false
	}
	v, ok := proto.GetExtension(opts, xt).(T)
	return v, ok
}

func subjectSuffix(m *protogen.Message, subject string) string {
	if subject != "" {
		return subject
	}
	return string(m.Desc.FullName())
}

// localID is m's name relative to its package, with '_' for '.': unique
// in the package, and a valid id for channels, operations and messages.
func localID(m *protogen.Message) string {
	full := string(m.Desc.FullName())
	if pkg := string(m.Desc.ParentFile().Package()); pkg != "" {
		full = strings.TrimPrefix(full, pkg+".")
	}
	return strings.ReplaceAll(full, ".", "_")
}

// replyMessages finds the messages the package's commands name as
// replies, full names or names relative to the command's package.
func replyMessages(gen *protogen.Plugin, p *pkg) []*contract {
	byName := map[string]*contract{}
	var walk func(*protogen.File, []*protogen.Message)
	walk = func(f *protogen.File, ms []*protogen.Message) {
		for _, m := range ms {
			byName[string(m.Desc.FullName())] = &contract{msg: m, file: f}
			walk(f, m.Messages)
		}
	}
	for _, f := range gen.Files {
		walk(f, f.Messages)
	}
	var out []*contract
	seen := map[*contract]bool{}
	for _, c := range p.commands {
		for _, r := range c.replies {
			m := byName[r]
			if m == nil {
				m = byName[p.name+"."+r]
			}
			if m == nil {
				continue
			}
			c.replyRefs = append(c.replyRefs, m)
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
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
