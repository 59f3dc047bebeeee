package gengobus

import (
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

var (
	// endpointPattern is a NATS subject token that is also a valid stream
	// and consumer name and turns into a Go identifier.
	endpointPattern = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z][A-Za-z0-9_-]{0,%d}$`, topology.MaxTokenLength-1))
	// subjectTokenPattern is one token of a subject override.
	subjectTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// The field numbers of the options, for the positions of mistakes.
const (
	commandEndpointField = 1
	commandSubjectField  = 2
	eventSubjectField    = 1
)

// collect reads and checks the options of every file to generate. It
// returns the files that declare gobus messages, or every contract mistake
// it finds, each with its file, line and column.
func collect(gen *protogen.Plugin) ([]*contractFile, error) {
	var ms mistakes
	var files []*contractFile
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		if cf := collectFile(f, &ms); len(cf.messages) > 0 {
			files = append(files, cf)
		}
	}
	checkSubjects(files, &ms)
	checkGroups(files, &ms)
	checkGoNames(gen, files, &ms)
	if err := ms.err(); err != nil {
		return nil, err
	}
	return files, nil
}

func collectFile(f *protogen.File, ms *mistakes) *contractFile {
	cf := &contractFile{file: f}
	groups := map[string]*endpointGroup{}
	var walk func([]*protogen.Message)
	walk = func(msgs []*protogen.Message) {
		for _, m := range msgs {
			if c := readContract(f, m, ms); c != nil {
				cf.messages = append(cf.messages, c)
				if c.kind == kindCommand {
					g := groups[c.endpoint]
					if g == nil {
						g = newEndpointGroup(c.endpoint)
						groups[c.endpoint] = g
						cf.groups = append(cf.groups, g)
					}
					g.commands = append(g.commands, c)
				}
			}
			walk(m.Messages)
		}
	}
	walk(f.Messages)
	return cf
}

// readContract reads the gobus options of m. It returns nil for a message
// that is neither a command nor an event, or whose options are wrong.
func readContract(f *protogen.File, m *protogen.Message, ms *mistakes) *contract {
	opts := m.Desc.Options()
	isCommand := proto.HasExtension(opts, gobusv1.E_Command)
	isEvent := proto.HasExtension(opts, gobusv1.E_Event)
	r := reader{f: f, m: m, ms: ms, where: fmt.Sprintf("message %s", m.Desc.FullName())}
	switch {
	case isCommand && isEvent:
		ms.add(optionPos(f, m, gobusv1.E_Event.TypeDescriptor().Number()), "%s is marked both a command and an event: keep option (gobus.v1.command) if one endpoint handles it, or option (gobus.v1.event) if it tells any number of subscribers that something happened", r.where)
	case isCommand:
		return r.command(proto.GetExtension(opts, gobusv1.E_Command).(*gobusv1.CommandOptions))
	case isEvent:
		return r.event(proto.GetExtension(opts, gobusv1.E_Event).(*gobusv1.EventOptions))
	}
	return nil
}

// reader reads the options of one message.
type reader struct {
	f     *protogen.File
	m     *protogen.Message
	ms    *mistakes
	where string
}

func (r reader) pos(ext protoreflect.FieldNumber, field ...protoreflect.FieldNumber) position {
	return optionPos(r.f, r.m, ext, field...)
}

func (r reader) command(o *gobusv1.CommandOptions) *contract {
	ext := gobusv1.E_Command.TypeDescriptor().Number()
	endpoint := o.GetEndpoint()
	ok := true
	switch {
	case endpoint == "":
		r.ms.add(r.pos(ext), "%s is a command without an endpoint: name the endpoint that handles it, as in option (gobus.v1.command) = { endpoint: \"sales\" }", r.where)
		ok = false
	case !endpointPattern.MatchString(endpoint):
		r.ms.add(r.pos(ext, commandEndpointField), "%s: endpoint %q is not a valid NATS subject token: use up to %d letters, digits, '-' and '_', starting with a letter (for example %q)", r.where, endpoint, topology.MaxTokenLength, suggestEndpoint(endpoint))
		ok = false
	}
	subject, subjectOK := r.subject(o.GetSubject(), "command", r.pos(ext, commandSubjectField))
	if !ok || !subjectOK {
		return nil
	}
	return &contract{msg: r.m, at: r.pos(ext), kind: kindCommand, endpoint: endpoint, subject: subject, names: newContractNames(r.m, kindCommand)}
}

func (r reader) event(o *gobusv1.EventOptions) *contract {
	ext := gobusv1.E_Event.TypeDescriptor().Number()
	subject, ok := r.subject(o.GetSubject(), "event", r.pos(ext, eventSubjectField))
	if !ok {
		return nil
	}
	return &contract{msg: r.m, at: r.pos(ext), kind: kindEvent, subject: subject, names: newContractNames(r.m, kindEvent)}
}

// subject returns the subject override, or the message's full name, and
// whether it is valid. Both are bounded: the full name is the ce-type
// header of every message, and the subject
// <prefix>.cmd.<endpoint>.<subject> goes into NATS's control line, 4096
// bytes by default.
func (r reader) subject(subject, option string, at position) (string, bool) {
	name := string(r.m.Desc.FullName())
	if len(name) > topology.MaxTypeLength {
		r.ms.add(messagePos(r.f, r.m), "%s: the full name is %d bytes long, and gobus allows at most %d for a message type (the ce-type header and, unless overridden, the subject): use a shorter package or message name", r.where, len(name), topology.MaxTypeLength)
		return "", false
	}
	if subject == "" {
		return name, true
	}
	if len(subject) > topology.MaxSuffixLength {
		r.ms.add(at, "%s: subject is %d bytes long, and gobus allows at most %d, so that the whole subject fits in NATS's control line (4096 bytes by default) with room for the reply subject: use a shorter subject, or leave it out to use the full name %s", r.where, len(subject), topology.MaxSuffixLength, name)
		return "", false
	}
	for _, token := range strings.Split(subject, ".") {
		if !subjectTokenPattern.MatchString(token) {
			r.ms.add(at, "%s: subject %q is not a valid NATS subject: use tokens of letters, digits, '-' and '_' separated by '.', without wildcards or spaces, as in option (gobus.v1.%s) = { subject: \"orders.placed\" }, or leave it out to use the full name %s", r.where, subject, option, name)
			return "", false
		}
	}
	return subject, true
}

// suggestEndpoint turns an invalid endpoint name into a valid one for the
// error message.
func suggestEndpoint(endpoint string) string {
	var b strings.Builder
	for _, r := range endpoint {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		s = "endpoint-" + s
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.TrimRight(s, "-")
}

// routeKey is the part of a message's subject under the prefix; two
// messages with the same key would share a subject.
func (c *contract) routeKey() string {
	if c.kind == kindCommand {
		return "cmd." + c.endpoint + "." + c.subject
	}
	return "evt." + c.subject
}

// checkSubjects reports messages that would be routed to one subject.
func checkSubjects(files []*contractFile, ms *mistakes) {
	seen := map[string]string{}
	for _, f := range files {
		for _, c := range f.messages {
			if first, ok := seen[c.routeKey()]; ok {
				ms.add(c.at, "message %s routes to subject <prefix>.%s, which %s already uses: give one of them another subject with the subject option", c.msg.Desc.FullName(), c.routeKey(), first)
				continue
			}
			seen[c.routeKey()] = fmt.Sprintf("message %s in %s", c.msg.Desc.FullName(), f.file.Desc.Path())
		}
	}
}

// checkGroups reports two files of one Go package that declare commands
// for the same endpoint, because both would declare its handler interface.
func checkGroups(files []*contractFile, ms *mistakes) {
	type key struct{ pkg, endpoint string }
	seen := map[key]string{}
	for _, f := range files {
		for _, g := range f.groups {
			k := key{string(f.file.GoImportPath), g.endpoint}
			if first, ok := seen[k]; ok {
				ms.add(g.commands[0].at, "message %s is a command for endpoint %q, whose commands are also declared in %s, in the same Go package: declare an endpoint's commands in one file, so that its %s interface is generated once", g.commands[0].msg.Desc.FullName(), g.endpoint, first, g.Handler)
				continue
			}
			seen[k] = fmt.Sprintf("%s (message %s)", f.file.Desc.Path(), g.commands[0].msg.Desc.FullName())
		}
	}
}

// checkGoNames reports generated identifiers that collide with another one
// in the same Go package, generated by us or by protoc-gen-go.
func checkGoNames(gen *protogen.Plugin, files []*contractFile, ms *mistakes) {
	taken := map[protogen.GoImportPath]map[string]string{}
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		names := taken[f.GoImportPath]
		if names == nil {
			names = map[string]string{}
			taken[f.GoImportPath] = names
		}
		for name, what := range protocGenGoNames(f) {
			names[name] = what
		}
	}
	for _, f := range files {
		names := taken[f.file.GoImportPath]
		claim := func(at position, name, what string) {
			if other, ok := names[name]; ok {
				ms.add(at, "the Go name %s generated for %s collides with %s: rename one of the messages or endpoints", name, what, other)
				return
			}
			names[name] = "the one generated for " + what
		}
		for _, c := range f.messages {
			for _, n := range c.names.all() {
				claim(c.at, n, "message "+string(c.msg.Desc.FullName()))
			}
		}
		for _, g := range f.groups {
			for _, n := range g.names() {
				claim(g.commands[0].at, n, fmt.Sprintf("endpoint %q of message %s", g.endpoint, g.commands[0].msg.Desc.FullName()))
			}
		}
	}
}

// protocGenGoNames lists the package-level Go names protoc-gen-go declares
// for f, mapped to what declares them.
func protocGenGoNames(f *protogen.File) map[string]string {
	names := map[string]string{}
	enums := func(es []*protogen.Enum) {
		for _, e := range es {
			names[e.GoIdent.GoName] = "enum " + string(e.Desc.FullName())
			names[e.GoIdent.GoName+"_name"] = "enum " + string(e.Desc.FullName())
			names[e.GoIdent.GoName+"_value"] = "enum " + string(e.Desc.FullName())
			for _, v := range e.Values {
				names[v.GoIdent.GoName] = "enum value " + string(v.Desc.FullName())
			}
		}
	}
	var msgs func([]*protogen.Message)
	msgs = func(ms []*protogen.Message) {
		for _, m := range ms {
			names[m.GoIdent.GoName] = "message " + string(m.Desc.FullName())
			for _, o := range m.Oneofs {
				for _, fld := range o.Fields {
					names[fld.GoIdent.GoName] = "oneof field " + string(fld.Desc.FullName())
				}
			}
			enums(m.Enums)
			msgs(m.Messages)
		}
	}
	enums(f.Enums)
	msgs(f.Messages)
	for _, x := range f.Extensions {
		names["E_"+x.GoIdent.GoName] = "extension " + string(x.Desc.FullName())
	}
	return names
}
