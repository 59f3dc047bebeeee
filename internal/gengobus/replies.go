package gengobus

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// commandRepliesField is the number of CommandOptions.replies, for the
// positions of mistakes.
var commandRepliesField = fieldNumber(&gobusv1.CommandOptions{}, "replies")

// replyType is a message some command names as a reply, with the Go names
// generated for it once per Go package: its route and its ReplyX
// function.
type replyType struct {
	msg   *protogen.Message
	Route string // route variable
	Reply string // ReplyX function
	owner bool   // this file declares Route and Reply for its package
}

func newReplyType(m *protogen.Message) *replyType {
	name := m.GoIdent.GoName
	return &replyType{msg: m, Route: name + "ReplyRoute", Reply: "Reply" + name}
}

// replyNames are the Go names generated for a command that declares
// replies.
type replyNames struct {
	Request       string // RequestX
	Result        string // the struct RequestX returns when there are several replies
	Handler       string // reply-handler interface
	Unimplemented string
	Register      string
}

func newReplyNames(m *protogen.Message) replyNames {
	name := m.GoIdent.GoName
	return replyNames{
		Request:       "Request" + name,
		Result:        name + "Reply",
		Handler:       name + "ReplyHandler",
		Unimplemented: "Unimplemented" + name + "ReplyHandler",
		Register:      "Register" + name + "ReplyHandler",
	}
}

func (n replyNames) all(replies int) []string {
	out := []string{n.Request, n.Handler, n.Unimplemented, n.Register}
	if replies > 1 {
		out = append(out, n.Result)
	}
	return out
}

// replyMethod is the reply-handler method for reply r.
func replyMethod(r *replyType) string { return "Handle" + r.msg.GoIdent.GoName + "Reply" }

// messageIndex maps the full name of every message of the request, nested
// ones included, to it.
func messageIndex(gen *protogen.Plugin) map[protoreflect.FullName]*protogen.Message {
	index := map[protoreflect.FullName]*protogen.Message{}
	var walk func([]*protogen.Message)
	walk = func(msgs []*protogen.Message) {
		for _, m := range msgs {
			index[m.Desc.FullName()] = m
			walk(m.Messages)
		}
	}
	for _, f := range gen.Files {
		walk(f.Messages)
	}
	return index
}

// replies resolves the replies a command names, reporting each name that
// is empty, repeated, not a message, or a command or an event. ok is
// false if any is wrong.
func (r reader) replies(names []string) (out []*protogen.Message, ok bool) {
	at := r.pos(gobusv1.E_Command.TypeDescriptor().Number(), commandRepliesField)
	seen := map[protoreflect.FullName]bool{}
	ok = true
	for _, name := range names {
		m := r.resolve(name)
		if m != nil && !importable(r.f.Desc, m.Desc.ParentFile()) {
			m = nil
		}
		switch {
		case strings.TrimSpace(name) == "":
			r.ms.add(at, "%s names an empty reply: write the reply message's name, as in replies: [\"OrderAccepted\"], or leave the entry out", r.where)
		case m == nil:
			r.ms.add(at, "%s names reply %q, which is not a message of %s or of a file it imports: name a message by its full name (\"%s.%s\") or by its name in package %s, and import its file", r.where, name, r.f.Desc.Path(), r.f.Desc.Package(), strings.TrimPrefix(name, "."), r.f.Desc.Package())
		case seen[m.Desc.FullName()]:
			r.ms.add(at, "%s names reply %s twice: leave one of them out", r.where, m.Desc.FullName())
		case kindOf(m) != "":
			r.ms.add(at, "%s names reply %s, which is %s: a reply goes back to whoever sent the command, so it must be a plain message or one marked option (gobus.v1.reply) = {}; declare a message of its own for the reply", r.where, m.Desc.FullName(), kindOf(m))
		default:
			seen[m.Desc.FullName()] = true
			out = append(out, m)
			continue
		}
		ok = false
	}
	return out, ok
}

// kindOf says what gobus option other than reply marks m: "a command",
// "an event", or "".
func kindOf(m *protogen.Message) string {
	opts := m.Desc.Options()
	switch {
	case proto.HasExtension(opts, gobusv1.E_Command):
		return "a command"
	case proto.HasExtension(opts, gobusv1.E_Event):
		return "an event"
	}
	return ""
}

// resolve finds the message name refers to as protoc resolves a type
// name: a leading '.' makes it a full name; otherwise it is looked up in
// the scope of the command, then in each enclosing scope up to the root.
func (r reader) resolve(name string) *protogen.Message {
	if name == "" || strings.ContainsAny(name, " \t") {
		return nil
	}
	if strings.HasPrefix(name, ".") {
		return r.index[protoreflect.FullName(name[1:])]
	}
	scope := string(r.m.Desc.FullName())
	for {
		i := strings.LastIndexByte(scope, '.')
		if i < 0 {
			return r.index[protoreflect.FullName(name)]
		}
		scope = scope[:i]
		if m := r.index[protoreflect.FullName(scope+"."+name)]; m != nil {
			return m
		}
	}
}

// checkReplyMark reports a message marked a reply and also a command or
// an event.
func (r reader) checkReplyMark() {
	if !proto.HasExtension(r.m.Desc.Options(), gobusv1.E_Reply) || kindOf(r.m) == "" {
		return
	}
	r.ms.add(r.pos(gobusv1.E_Reply.TypeDescriptor().Number()), "%s is marked both a reply and %s: keep option (gobus.v1.reply) if it answers a command, or declare a message of its own for the reply", r.where, kindOf(r.m))
}

// assignReplyTypes gives every reply type of every file its generated
// names, declared by the first file of its Go package that needs them, so
// that two files of one package replying with one message declare its
// route once.
func assignReplyTypes(files []*contractFile) {
	owners := map[string]*replyType{}
	for _, f := range files {
		for _, c := range f.messages {
			for _, m := range c.replyMsgs {
				key := string(f.file.GoImportPath) + " " + string(m.Desc.FullName())
				rt := owners[key]
				if rt == nil {
					rt = newReplyType(m)
					rt.owner = true
					owners[key] = rt
					f.replyTypes = append(f.replyTypes, rt)
				}
				c.replies = append(c.replies, rt)
			}
		}
	}
}

// replyWhat names a reply type in error messages.
func replyWhat(rt *replyType) string {
	return fmt.Sprintf("reply %s", rt.msg.Desc.FullName())
}

// replyAt is where the first command of f that names rt names it.
func replyAt(f *contractFile, rt *replyType) position {
	for _, c := range f.messages {
		for _, r := range c.replies {
			if r == rt {
				return optionPos(f.file, c.msg, gobusv1.E_Command.TypeDescriptor().Number(), commandRepliesField)
			}
		}
	}
	return position{file: f.file.Desc.Path()}
}

// importable reports whether a message of file to can be named from file
// from: to is from or one of its imports, directly or not.
func importable(from, to protoreflect.FileDescriptor) bool {
	seen := map[string]bool{}
	var walk func(protoreflect.FileDescriptor) bool
	walk = func(f protoreflect.FileDescriptor) bool {
		if f.Path() == to.Path() {
			return true
		}
		if seen[f.Path()] {
			return false
		}
		seen[f.Path()] = true
		imports := f.Imports()
		for i := range imports.Len() {
			if walk(imports.Get(i).FileDescriptor) {
				return true
			}
		}
		return false
	}
	return walk(from)
}
