package gengobus

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

func replyGoType(r *replyType) *jen.Statement {
	return jen.Op("*").Qual(string(r.msg.GoIdent.GoImportPath), r.msg.GoIdent.GoName)
}

// replyRouteDefs declares the routes of the reply types f owns.
func replyRouteDefs(cf *contractFile) []jen.Code {
	var defs []jen.Code
	for _, r := range cf.replyTypes {
		name := r.msg.GoIdent.GoName
		defs = append(defs,
			commentBlock(fmt.Sprintf("%s routes %s replies back to whoever sent the command they answer.", r.Route, name)),
			jen.Id(r.Route).Op("=").Add(rt("NewReplyRoute")).Types(replyGoType(r)).Call(jen.Lit(string(r.msg.Desc.FullName()))),
		)
	}
	return defs
}

// registerReplies declares, in init, the replies of each command of cf.
func registerReplies(cf *contractFile) []jen.Code {
	var calls []jen.Code
	for _, c := range cf.messages {
		if len(c.replies) == 0 {
			continue
		}
		args := []jen.Code{jen.Id(c.names.Route).Dot("Route").Call()}
		for _, r := range c.replies {
			args = append(args, jen.Id(r.Route).Dot("Type").Call())
		}
		calls = append(calls, rt("RegisterReplies").Call(args...))
	}
	return calls
}

// emitReplyFuncs writes the ReplyX function of each reply type f owns.
func emitReplyFuncs(f *jen.File, cf *contractFile) {
	for _, r := range cf.replyTypes {
		docComment(f, fmt.Sprintf("%s answers the command mc is handling with reply, sent back after\n"+
			"the handler succeeds to whoever sent the command: the waiting RequestX caller,\n"+
			"or the queue of the endpoint that sent it. The command must declare %s\n"+
			"among its replies.", r.Reply, r.msg.Desc.FullName()))
		f.Func().Id(r.Reply).
			Params(
				jen.Id("ctx").Qual("context", "Context"),
				jen.Id("mc").Op("*").Add(rt("MessageContext")),
				jen.Id("reply").Add(replyGoType(r)),
			).Error().
			Block(jen.Return(rt("Reply").Call(jen.Id("ctx"), jen.Id("mc"), jen.Id(r.Route), jen.Id("reply"))))
	}
}

// emitCommandReplies writes RequestX and the reply handler of command c.
func emitCommandReplies(f *jen.File, c *contract) {
	if len(c.replies) == 0 {
		return
	}
	emitRequest(f, c)
	emitReplyHandler(f, c)
}

func replyList(c *contract) string {
	names := make([]string, len(c.replies))
	for i, r := range c.replies {
		names[i] = r.msg.GoIdent.GoName
	}
	return strings.Join(names, ", ")
}

func emitRequest(f *jen.File, c *contract) {
	name := c.msg.GoIdent.GoName
	n := c.replyNames
	var result jen.Code
	var targets []jen.Code
	var decl, ret jen.Code
	if len(c.replies) == 1 {
		r := c.replies[0]
		result = replyGoType(r)
		decl = jen.Var().Id("reply").Add(replyGoType(r))
		targets = append(targets, rt("Into").Call(jen.Id(r.Route), jen.Op("&").Id("reply")))
		ret = jen.Id("reply")
	} else {
		var fields []jen.Code
		for _, r := range c.replies {
			fields = append(fields,
				jen.Comment(fmt.Sprintf("%s is set if the reply is %s.", r.msg.GoIdent.GoName, article(r.msg.GoIdent.GoName))),
				jen.Id(r.msg.GoIdent.GoName).Add(replyGoType(r)))
			targets = append(targets, rt("Into").Call(jen.Id(r.Route), jen.Op("&").Id("out").Dot(r.msg.GoIdent.GoName)))
		}
		docComment(f, fmt.Sprintf("%s is the reply %s returns: exactly one of its fields is set.", n.Result, n.Request))
		f.Type().Id(n.Result).Struct(fields...)
		result = jen.Op("*").Id(n.Result)
		decl = jen.Id("out").Op(":=").Op("&").Id(n.Result).Values()
		ret = jen.Id("out")
	}
	docComment(f, fmt.Sprintf("%s sends %s command to the %s endpoint and waits for its reply (%s)\n"+
		"on the client's own reply subject, until ctx ends: then it returns ctx's error,\n"+
		"and a reply that comes later is dropped. Give ctx a deadline.", n.Request, article(name), c.endpoint, replyList(c)))
	f.Func().Id(n.Request).
		Params(
			jen.Id("ctx").Qual("context", "Context"),
			jen.Id("c").Op("*").Add(rt("Client")),
			jen.Id("cmd").Add(msgType(c)),
			jen.Id("opts").Op("...").Add(rt("SendOption")),
		).Params(result, jen.Error()).
		Block(
			decl,
			jen.If(
				jen.Err().Op(":=").Add(rt("Request")).Call(jen.Id("ctx"), jen.Id("c"), jen.Id(c.names.Route), jen.Id("cmd"),
					jen.Index().Add(rt("ReplyTarget")).Values(targets...), jen.Id("opts").Op("...")),
				jen.Err().Op("!=").Nil(),
			).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Return(ret, jen.Nil()),
		)
}

func replyParams(c *contract, r *replyType, named bool) []jen.Code {
	if !named {
		return []jen.Code{jen.Qual("context", "Context"), jen.Op("*").Add(rt("MessageContext")), replyGoType(r)}
	}
	return []jen.Code{
		jen.Id("ctx").Qual("context", "Context"),
		jen.Id("mc").Op("*").Add(rt("MessageContext")),
		jen.Id("reply").Add(replyGoType(r)),
	}
}

func emitReplyHandler(f *jen.File, c *contract) {
	name := c.msg.GoIdent.GoName
	n := c.replyNames
	var methods []jen.Code
	for _, r := range c.replies {
		methods = append(methods,
			jen.Comment(fmt.Sprintf("%s handles one %s reply to a %s.", replyMethod(r), r.msg.GoIdent.GoName, name)),
			jen.Id(replyMethod(r)).Params(replyParams(c, r, true)...).Error())
	}
	docComment(f, fmt.Sprintf("%s handles, in the queue of the endpoint that sent them, the\n"+
		"replies to its %s commands (%s): durable replies, which wait in the\n"+
		"queue while the endpoint is down. mc.CausationID() is the id of the command a\n"+
		"reply answers. An endpoint has one handler per reply type, whichever command\n"+
		"it answers. Embed %s to keep compiling when replies are added.", n.Handler, name, replyList(c), n.Unimplemented))
	f.Type().Id(n.Handler).Interface(methods...)

	docComment(f, fmt.Sprintf("%s answers every reply to %s with\n"+
		"gobus.ErrUnimplemented, which moves it to the error stream without retries.", n.Unimplemented, name))
	f.Type().Id(n.Unimplemented).Struct()
	for _, r := range c.replies {
		docComment(f, fmt.Sprintf("%s fails with gobus.ErrUnimplemented.", replyMethod(r)))
		f.Func().Params(jen.Id(n.Unimplemented)).Id(replyMethod(r)).
			Params(replyParams(c, r, false)...).Error().
			Block(jen.Return(rt("UnimplementedError").Call(jen.Id(r.Route).Dot("Type").Call())))
	}

	var body []jen.Code
	for _, r := range c.replies {
		body = append(body, jen.If(
			jen.Err().Op(":=").Add(rt("HandleReply")).Call(jen.Id("ep"), jen.Id(c.names.Route), jen.Id(r.Route), jen.Id("h").Dot(replyMethod(r))),
			jen.Err().Op("!=").Nil(),
		).Block(jen.Return(jen.Err())))
	}
	body = append(body, jen.Return(jen.Nil()))
	docComment(f, fmt.Sprintf("%s has ep handle with h the replies to the %s\n"+
		"commands ep sends from its handlers: sending one asks for its reply in ep's queue.", n.Register, name))
	f.Func().Id(n.Register).
		Params(jen.Id("ep").Op("*").Add(rt("Endpoint")), jen.Id("h").Id(n.Handler)).Error().
		Block(body...)
}
