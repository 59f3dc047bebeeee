package gengobus

import (
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"

	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

var (
	// endpointPattern is a NATS subject token that is also a valid stream
	// and consumer name and turns into a Go identifier.
	endpointPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
	// subjectTokenPattern is one token of a subject override.
	subjectTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// collect reads and checks the options of every file to generate. It
// returns the files that declare gobus messages, or the first contract
// mistake it finds.
func collect(gen *protogen.Plugin) ([]*contractFile, error) {
	var files []*contractFile
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		cf, err := collectFile(f)
		if err != nil {
			return nil, err
		}
		if len(cf.messages) > 0 {
			files = append(files, cf)
		}
	}
	if err := checkSubjects(files); err != nil {
		return nil, err
	}
	if err := checkGroups(files); err != nil {
		return nil, err
	}
	if err := checkGoNames(gen, files); err != nil {
		return nil, err
	}
	return files, nil
}

func collectFile(f *protogen.File) (*contractFile, error) {
	cf := &contractFile{file: f}
	groups := map[string]*endpointGroup{}
	var walk func([]*protogen.Message) error
	walk = func(msgs []*protogen.Message) error {
		for _, m := range msgs {
			c, err := readContract(f, m)
			if err != nil {
				return err
			}
			if c != nil {
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
			if err := walk(m.Messages); err != nil {
				return err
			}
		}
		return nil
	}
	return cf, walk(f.Messages)
}

// readContract reads the gobus options of m. It returns nil for a message
// that is neither a command nor an event.
func readContract(f *protogen.File, m *protogen.Message) (*contract, error) {
	opts := m.Desc.Options()
	isCommand := proto.HasExtension(opts, gobusv1.E_Command)
	isEvent := proto.HasExtension(opts, gobusv1.E_Event)
	where := fmt.Sprintf("%s: message %s", f.Desc.Path(), m.Desc.FullName())
	switch {
	case isCommand && isEvent:
		return nil, fmt.Errorf("%s is marked both a command and an event: keep option (gobus.v1.command) if one endpoint handles it, or option (gobus.v1.event) if it tells any number of subscribers that something happened", where)
	case isCommand:
		return readCommand(where, m, proto.GetExtension(opts, gobusv1.E_Command).(*gobusv1.CommandOptions))
	case isEvent:
		return readEvent(where, m, proto.GetExtension(opts, gobusv1.E_Event).(*gobusv1.EventOptions))
	}
	return nil, nil
}

func readCommand(where string, m *protogen.Message, o *gobusv1.CommandOptions) (*contract, error) {
	endpoint := o.GetEndpoint()
	if endpoint == "" {
		return nil, fmt.Errorf("%s is a command without an endpoint: name the endpoint that handles it, as in option (gobus.v1.command) = { endpoint: \"sales\" }", where)
	}
	if !endpointPattern.MatchString(endpoint) {
		return nil, fmt.Errorf("%s: endpoint %q is not a valid NATS subject token: use up to 64 letters, digits, '-' and '_', starting with a letter (for example %q)", where, endpoint, suggestEndpoint(endpoint))
	}
	subject, err := readSubject(where, m, o.GetSubject(), "command")
	if err != nil {
		return nil, err
	}
	return &contract{msg: m, kind: kindCommand, endpoint: endpoint, subject: subject, names: newContractNames(m, kindCommand)}, nil
}

func readEvent(where string, m *protogen.Message, o *gobusv1.EventOptions) (*contract, error) {
	subject, err := readSubject(where, m, o.GetSubject(), "event")
	if err != nil {
		return nil, err
	}
	return &contract{msg: m, kind: kindEvent, subject: subject, names: newContractNames(m, kindEvent)}, nil
}

// readSubject returns the subject override, or the message's full name.
func readSubject(where string, m *protogen.Message, subject, option string) (string, error) {
	if subject == "" {
		return string(m.Desc.FullName()), nil
	}
	for _, token := range strings.Split(subject, ".") {
		if !subjectTokenPattern.MatchString(token) {
			return "", fmt.Errorf("%s: subject %q is not a valid NATS subject: use tokens of letters, digits, '-' and '_' separated by '.', without wildcards or spaces, as in option (gobus.v1.%s) = { subject: \"orders.placed\" }, or leave it out to use the full name %s", where, subject, option, m.Desc.FullName())
		}
	}
	return subject, nil
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

// checkSubjects fails when two messages would be routed to one subject.
func checkSubjects(files []*contractFile) error {
	seen := map[string]string{}
	for _, f := range files {
		for _, c := range f.messages {
			if first, ok := seen[c.routeKey()]; ok {
				return fmt.Errorf("%s: message %s routes to subject <prefix>.%s, which %s already uses: give one of them another subject with the subject option", f.file.Desc.Path(), c.msg.Desc.FullName(), c.routeKey(), first)
			}
			seen[c.routeKey()] = fmt.Sprintf("message %s in %s", c.msg.Desc.FullName(), f.file.Desc.Path())
		}
	}
	return nil
}

// checkGroups fails when two files of one Go package declare commands for
// the same endpoint, because both would declare its handler interface.
func checkGroups(files []*contractFile) error {
	type key struct{ pkg, endpoint string }
	seen := map[key]string{}
	for _, f := range files {
		for _, g := range f.groups {
			k := key{string(f.file.GoImportPath), g.endpoint}
			if first, ok := seen[k]; ok {
				return fmt.Errorf("%s: message %s is a command for endpoint %q, whose commands are also declared in %s, in the same Go package: declare an endpoint's commands in one file, so that its %s interface is generated once", f.file.Desc.Path(), g.commands[0].msg.Desc.FullName(), g.endpoint, first, g.Handler)
			}
			seen[k] = fmt.Sprintf("%s (message %s)", f.file.Desc.Path(), g.commands[0].msg.Desc.FullName())
		}
	}
	return nil
}

// checkGoNames fails when a generated identifier collides with another one
// in the same Go package, generated by us or by protoc-gen-go.
func checkGoNames(gen *protogen.Plugin, files []*contractFile) error {
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
		claim := func(name, what string) error {
			if other, ok := names[name]; ok {
				return fmt.Errorf("%s: the Go name %s generated for %s collides with %s: rename one of the messages or endpoints", f.file.Desc.Path(), name, what, other)
			}
			names[name] = "the one generated for " + what
			return nil
		}
		for _, c := range f.messages {
			for _, n := range c.names.all() {
				if err := claim(n, "message "+string(c.msg.Desc.FullName())); err != nil {
					return err
				}
			}
		}
		for _, g := range f.groups {
			for _, n := range g.names() {
				if err := claim(n, fmt.Sprintf("endpoint %q of message %s", g.endpoint, g.commands[0].msg.Desc.FullName())); err != nil {
					return err
				}
			}
		}
	}
	return nil
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
