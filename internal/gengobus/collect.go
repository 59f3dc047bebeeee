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
var (
	commandEndpointField = fieldNumber(&gobusv1.CommandOptions{}, "endpoint")
	commandSubjectField  = fieldNumber(&gobusv1.CommandOptions{}, "subject")
	eventSubjectField    = fieldNumber(&gobusv1.EventOptions{}, "subject")
)

func fieldNumber(m proto.Message, name protoreflect.Name) protoreflect.FieldNumber {
	return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
}

// collect reads and checks the options of every file to generate. It
// returns the files that declare gobus messages, or every contract mistake
// it finds, each with its file, line and column.
func collect(gen *protogen.Plugin) ([]*contractFile, error) {
	var ms mistakes
	var files []*contractFile
	index := messageIndex(gen)
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		if cf := collectFile(f, index, &ms); len(cf.messages) > 0 || len(cf.sagas) > 0 {
			files = append(files, cf)
		}
	}
	assignReplyTypes(files)
	checkSubjects(files, &ms)
	checkFilteredSubjects(files, &ms)
	checkGroups(files, &ms)
	checkSagas(files, &ms)
	checkGoNames(gen, files, &ms)
	if err := ms.err(); err != nil {
		return nil, err
	}
	return files, nil
}

func collectFile(f *protogen.File, index map[protoreflect.FullName]*protogen.Message, ms *mistakes) *contractFile {
	cf := &contractFile{file: f}
	groups := map[string]*endpointGroup{}
	var walk func([]*protogen.Message)
	walk = func(msgs []*protogen.Message) {
		for _, m := range msgs {
			if c := readContract(f, m, index, ms); c != nil {
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
			if s := (reader{f: f, m: m, index: index, ms: ms}).readSaga(); s != nil {
				cf.sagas = append(cf.sagas, s)
			}
			walk(m.Messages)
		}
	}
	walk(f.Messages)
	return cf
}

// readContract reads the gobus options of m. It returns nil for a message
// that is neither a command nor an event, or whose options are wrong.
func readContract(f *protogen.File, m *protogen.Message, index map[protoreflect.FullName]*protogen.Message, ms *mistakes) *contract {
	opts := m.Desc.Options()
	isCommand := proto.HasExtension(opts, gobusv1.E_Command)
	isEvent := proto.HasExtension(opts, gobusv1.E_Event)
	r := reader{f: f, m: m, index: index, ms: ms, where: fmt.Sprintf("message %s", m.Desc.FullName())}
	r.checkReplyMark()
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
	index map[protoreflect.FullName]*protogen.Message
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
	replies, repliesOK := r.replies(o.GetReplies())
	if !ok || !subjectOK || !repliesOK {
		return nil
	}
	return &contract{msg: r.m, at: r.pos(ext), kind: kindCommand, endpoint: endpoint, subject: subject,
		names: newContractNames(r.m, kindCommand), replyMsgs: replies, replyNames: newReplyNames(r.m)}
}

func (r reader) event(o *gobusv1.EventOptions) *contract {
	ext := gobusv1.E_Event.TypeDescriptor().Number()
	subject, ok := r.subject(o.GetSubject(), "event", r.pos(ext, eventSubjectField))
	filter, filterOK := r.filterFields(o.GetFilterFields())
	if !ok || !filterOK {
		return nil
	}
	c := &contract{msg: r.m, at: r.pos(ext), kind: kindEvent, subject: subject, filter: filter, names: newContractNames(r.m, kindEvent)}
	if len(filter) > 0 {
		c.names.Filter = r.m.GoIdent.GoName + "Filter"
	}
	return c
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
