package genasyncapi

import (
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// Schema formats and content types of the documents.
const (
	asyncAPIVersion = "3.0.0"
	protoFormat3    = "application/vnd.google.protobuf;version=3"
	protoFormat2    = "application/vnd.google.protobuf;version=2"
	contentType     = "application/protobuf"
)

// document is the AsyncAPI document of p: what the package's endpoints
// receive (its commands, on their queues) and what is published under its
// name (its events), with the NATS and JetStream details gobus uses.
//
// The contracts say which endpoint handles a command, but not which
// endpoint publishes an event or subscribes to it, so the document takes
// the package's view: it receives its commands and sends its events.
// Subscribers find an event's channel in the document of the package that
// declares it.
func document(p *pkg) mapping {
	doc := mapping{}
	doc.set("asyncapi", asyncAPIVersion)
	doc.set("info", info(p))
	doc.set("defaultContentType", contentType)
	doc.set("servers", servers())
	channels, operations, messages := mapping{}, mapping{}, mapping{}
	for _, c := range p.commands {
		channels.set(c.id, commandChannel(c))
		if len(c.replies) > 0 {
			channels.set(c.id+"_reply", replyChannel(c, p))
		}
		operations.set("receive"+c.id, operation("receive", c, consumerOfQueue(c.endpoint)))
		messages.set(c.id, message(c, "command", "send"))
	}
	for _, c := range p.events {
		channels.set(c.id, eventChannel(c))
		operations.set("send"+c.id, operation("send", c, nil))
		messages.set(c.id, message(c, "event", "publish"))
	}
	for _, r := range p.replies {
		messages.set(localID(r.msg), replyMessage(r.file, r.msg))
	}
	for _, ep := range p.endpoints() {
		id := tokenID(ep)
		channels.set(id+"_retry", retryChannel(p, ep))
		channels.set(id+"_errors", errorChannel(ep))
		operations.set("receive"+upperFirst(id)+"Retries", retryOperation(ep, id))
		operations.set("send"+upperFirst(id)+"Failures", failureOperation(ep, id))
	}
	if len(p.endpoints()) > 0 {
		messages.set("FailedMessage", failedMessage())
	}
	doc.set("channels", channels)
	doc.set("operations", operations)
	doc.set("components", components(messages))
	return doc
}

func info(p *pkg) mapping {
	version := p.name[strings.LastIndex(p.name, ".")+1:]
	if p.name == "" || !strings.HasPrefix(version, "v") {
		version = "unversioned"
	}
	var desc strings.Builder
	if c := packageComment(p); c != "" {
		desc.WriteString(c + "\n\n")
	}
	desc.WriteString("The gobus contracts of package " + p.name + ", generated from " + strings.Join(p.sources(), ", ") + ".\n" +
		"Messages are CloudEvents in binary content mode on NATS headers, their data protobuf binary;\n" +
		"docs/wire.md of github.com/gobusdev/gobus is the contract every sender and receiver follows.\n")
	m := mapping{}
	m.set("title", p.name)
	m.set("version", version)
	m.set("description", desc.String())
	m.set("x-gobus-package", p.name)
	return m
}

// packageComment is the comment on the package statement of the
// package's first file that has one.
func packageComment(p *pkg) string {
	for _, f := range p.files {
		if c := strings.TrimSpace(commentText(f.Desc.SourceLocations().ByPath(packagePath).LeadingComments)); c != "" {
			return c
		}
	}
	return ""
}

// packagePath is the source location path of a file's package statement
// (FileDescriptorProto field 2).
var packagePath = []int32{2}

func (p *pkg) sources() []string {
	var out []string
	for _, f := range p.files {
		out = append(out, f.Desc.Path())
	}
	return out
}

func servers() mapping {
	host := mapping{}
	host.set("default", "127.0.0.1:4222")
	host.set("description", "The NATS server or cluster, with JetStream enabled (gobus's GOBUS_URL or WithURL).")
	srv := mapping{}
	srv.set("host", "{host}")
	srv.set("protocol", "nats")
	srv.set("description", "NATS with JetStream. Every channel is a subject stored in a JetStream stream (x-gobus-stream); endpoints read with durable pull consumers (x-gobus-consumer).")
	srv.set("variables", mapping{{"host", host}})
	return mapping{{"nats", srv}}
}

// subjects and streams, with the prefix as the channel parameter {prefix}.
func commandSubject(c *contract) string { return "{prefix}.cmd." + c.endpoint + "." + c.suffix }
func eventSubject(c *contract) string   { return "{prefix}.evt." + c.suffix }

// eventAddress is the subject an event is published on: its subject,
// then a parameter per filter field.
func eventAddress(c *contract) string {
	a := eventSubject(c)
	for _, f := range c.filter {
		a += ".{" + string(f.Desc.Name()) + "}"
	}
	return a
}

// filterParameters are the prefix and a parameter per filter field of c:
// the subject token of the field's value (docs/wire.md, Filtered events).
func filterParameters(c *contract) mapping {
	params := prefixParameter()
	for _, f := range c.filter {
		p := mapping{}
		p.set("description", "The subject token of the event's "+string(f.Desc.Name())+" ("+filterKind(f)+"), as docs/wire.md (Filtered events) says: "+
			"the value as text (an enum as its number), A-Z a-z 0-9 - _ kept, every other byte ~ and two upper-case hex digits, "+
			"~ for the empty value, ~~ and 32 hex digits of the text's SHA-256 past 64 bytes. Subscribers filter on it; * takes any value.")
		p.set("location", "$message.payload#/"+string(f.Desc.Name()))
		params.set(string(f.Desc.Name()), p)
	}
	return params
}

// filterKind names a filter field's type for its parameter's description.
func filterKind(f *protogen.Field) string {
	if f.Enum != nil {
		return "enum " + string(f.Enum.Desc.FullName())
	}
	return f.Desc.Kind().String()
}
func queueStream(endpoint string) string {
	return "{prefix}_queue_" + endpoint
}

func prefixParameter() mapping {
	return mapping{{"prefix", ref("#/components/parameters/prefix")}}
}

func commandChannel(c *contract) mapping {
	ch := mapping{}
	ch.set("address", commandSubject(c))
	ch.set("title", string(c.msg.Desc.Name()))
	ch.set("description", "The "+c.endpoint+" endpoint's queue of "+c.fullName()+" commands.")
	ch.set("parameters", prefixParameter())
	ch.set("messages", mapping{{c.id, ref("#/components/messages/" + c.id)}})
	ch.set("x-gobus-stream", queueStreamDetails(c.endpoint))
	return ch
}

func eventChannel(c *contract) mapping {
	ch := mapping{}
	ch.set("address", eventAddress(c))
	ch.set("title", string(c.msg.Desc.Name()))
	desc := "The " + c.fullName() + " events. To receive them, create a durable pull consumer of your own on the events stream filtered to this subject."
	if len(c.filter) > 0 {
		var names []string
		for _, f := range c.filter {
			names = append(names, string(f.Desc.Name()))
		}
		desc = "The " + c.fullName() + " events, published on their subject followed by the tokens of their filter fields (" + strings.Join(names, ", ") + "). " +
			"To receive them all, create a durable pull consumer of your own on the events stream filtered to " + eventSubject(c) + " and " + eventSubject(c) + ".>; " +
			"to receive some, filter on the tokens instead, '*' for any value and '>' for the trailing ones, so that the server does the filtering."
	}
	ch.set("description", desc)
	ch.set("parameters", filterParameters(c))
	ch.set("messages", mapping{{c.id, ref("#/components/messages/" + c.id)}})
	ch.set("x-gobus-stream", eventsStreamDetails())
	sub := mapping{}
	sub.set("stream", "{prefix}_events")
	sub.set("durable", "<the subscribing endpoint>")
	if len(c.filter) == 0 {
		sub.set("filterSubject", eventSubject(c))
	} else {
		sub.set("filterSubjects", []any{eventSubject(c), eventSubject(c) + ".>"})
		var fields []any
		for _, f := range c.filter {
			fields = append(fields, string(f.Desc.Name()))
		}
		sub.set("filterFields", fields)
	}
	sub.set("deliverPolicy", "new")
	addConsumerSettings(&sub)
	ch.set("x-gobus-subscriber-consumer", sub)
	return ch
}

// queueSubjects are the subjects of an endpoint's queue stream; its
// consumer reads all but the last, the schedules.
func queueSubjects(endpoint string) []any {
	return []any{"{prefix}.cmd." + endpoint + ".>", "{prefix}.retry." + endpoint, "{prefix}.reply." + endpoint, "{prefix}.sched.cmd." + endpoint + ".*"}
}

func queueStreamDetails(endpoint string) mapping {
	s := mapping{}
	s.set("name", queueStream(endpoint))
	s.set("subjects", queueSubjects(endpoint))
	s.set("retention", "workqueue")
	s.set("storage", "file")
	s.set("maxAge", "0s")
	s.set("duplicateWindow", "2m")
	s.set("replicas", 1)
	s.set("allowMsgSchedules", true)
	return s
}

func eventsStreamDetails() mapping {
	s := mapping{}
	s.set("name", "{prefix}_events")
	s.set("subjects", []any{"{prefix}.evt.>", "{prefix}.sched.evt.*"})
	s.set("retention", "limits")
	s.set("storage", "file")
	s.set("maxAge", "168h")
	s.set("duplicateWindow", "2m")
	s.set("replicas", 1)
	s.set("allowMsgSchedules", true)
	return s
}

func errorsStreamDetails() mapping {
	s := mapping{}
	s.set("name", "{prefix}_errors")
	s.set("subjects", []any{"{prefix}.err.>"})
	s.set("retention", "limits")
	s.set("storage", "file")
	s.set("maxAge", "0s")
	s.set("duplicateWindow", "2m")
	s.set("replicas", 1)
	return s
}

func consumerOfQueue(endpoint string) mapping {
	c := mapping{}
	c.set("stream", queueStream(endpoint))
	c.set("durable", endpoint)
	c.set("filterSubjects", queueSubjects(endpoint)[:3])
	c.set("deliverPolicy", "all")
	addConsumerSettings(&c)
	return c
}

func addConsumerSettings(c *mapping) {
	c.set("pull", true)
	c.set("ackPolicy", "explicit")
	c.set("ackWait", "30s")
	c.set("maxAckPending", 1000)
	c.set("maxDeliver", -1)
}

func operation(action string, c *contract, consumer mapping) mapping {
	op := mapping{}
	op.set("action", action)
	op.set("channel", ref("#/channels/"+c.id))
	if action == "receive" {
		op.set("title", "The "+c.endpoint+" endpoint handles "+string(c.msg.Desc.Name()))
	} else {
		op.set("title", "Publish "+string(c.msg.Desc.Name()))
	}
	if s := summary(c.msg.Comments.Leading); s != "" {
		op.set("summary", s)
	}
	op.set("messages", []any{ref("#/channels/" + c.id + "/messages/" + c.id)})
	if c.endpoint != "" {
		op.set("x-gobus-endpoint", c.endpoint)
	}
	if consumer != nil {
		op.set("x-gobus-consumer", consumer)
	}
	if len(c.replies) > 0 {
		var rs []any
		for _, r := range c.replies {
			rs = append(rs, r)
		}
		op.set("x-gobus-replies", rs)
		var msgs []any
		for _, r := range replyIDs(c) {
			msgs = append(msgs, ref("#/channels/"+c.id+"_reply/messages/"+r))
		}
		reply := mapping{}
		reply.set("address", mapping{{"description", "The subject the command's ce-gobusreplyto names: a waiting client's own, or {prefix}.reply.<endpoint> for an endpoint's queue."}, {"location", "$message.header#/ce-gobusreplyto"}})
		reply.set("channel", ref("#/channels/"+c.id+"_reply"))
		reply.set("messages", msgs)
		op.set("reply", reply)
	}
	return op
}

// replyIDs are the message ids of c's replies that the package's
// document holds.
func replyIDs(c *contract) []string {
	var ids []string
	for _, r := range c.replyRefs {
		ids = append(ids, localID(r.msg))
	}
	return ids
}

// replyChannel is where c's replies go: a subject each command names in
// its ce-gobusreplyto, so the channel has no address of its own.
func replyChannel(c *contract, p *pkg) mapping {
	ch := mapping{}
	ch.set("address", null{})
	ch.set("title", string(c.msg.Desc.Name())+" replies")
	ch.set("description", "The replies to "+c.fullName()+", on the subject its ce-gobusreplyto header names: a client's own (core NATS, stored nowhere) or {prefix}.reply.<endpoint> (the endpoint's queue stream).")
	msgs := mapping{}
	for _, id := range replyIDs(c) {
		msgs.set(id, ref("#/components/messages/"+id))
	}
	ch.set("messages", msgs)
	return ch
}

func retryChannel(p *pkg, endpoint string) mapping {
	ch := mapping{}
	ch.set("address", "{prefix}.retry."+endpoint)
	ch.set("title", endpoint+" retries")
	ch.set("description", "Where operators send the "+endpoint+" endpoint's failed messages back (gobus errors retry): any type the endpoint handles, its events included.")
	ch.set("parameters", prefixParameter())
	msgs := mapping{}
	for _, c := range p.commands {
		if c.endpoint == endpoint {
			msgs.set(c.id, ref("#/components/messages/"+c.id))
		}
	}
	ch.set("messages", msgs)
	ch.set("x-gobus-stream", queueStreamDetails(endpoint))
	return ch
}

func errorChannel(endpoint string) mapping {
	ch := mapping{}
	ch.set("address", "{prefix}.err."+endpoint)
	ch.set("title", endpoint+" failures")
	ch.set("description", "The messages the "+endpoint+" endpoint failed for good: each is the original, body and headers, plus the failure headers.")
	ch.set("parameters", prefixParameter())
	ch.set("messages", mapping{{"FailedMessage", ref("#/components/messages/FailedMessage")}})
	ch.set("x-gobus-stream", errorsStreamDetails())
	return ch
}

func retryOperation(endpoint, id string) mapping {
	op := mapping{}
	op.set("action", "receive")
	op.set("channel", ref("#/channels/"+id+"_retry"))
	op.set("title", "The "+endpoint+" endpoint handles retried messages")
	op.set("x-gobus-endpoint", endpoint)
	op.set("x-gobus-consumer", consumerOfQueue(endpoint))
	return op
}

func failureOperation(endpoint, id string) mapping {
	op := mapping{}
	op.set("action", "send")
	op.set("channel", ref("#/channels/"+id+"_errors"))
	op.set("title", "The "+endpoint+" endpoint moves failed messages to the error stream")
	op.set("messages", []any{ref("#/channels/" + id + "_errors/messages/FailedMessage")})
	op.set("x-gobus-endpoint", endpoint)
	return op
}

// message is the message of c: its proto full name, its schema and the
// CloudEvents headers with the values its type fixes.
func message(c *contract, kind, intent string) mapping {
	m := mapping{}
	m.set("name", c.fullName())
	m.set("title", string(c.msg.Desc.Name()))
	if s := summary(c.msg.Comments.Leading); s != "" {
		m.set("summary", s)
	}
	if d := commentText(string(c.msg.Comments.Leading)); d != "" {
		m.set("description", d)
	}
	m.set("contentType", contentType)
	fixed := mapping{}
	fixed.set("ce-type", mapping{{"const", c.fullName()}})
	fixed.set("ce-gobusintent", mapping{{"const", intent}})
	m.set("headers", headersWith(fixed))
	m.set("payload", payload(c.file, c.msg))
	m.set("correlationId", ref("#/components/correlationIds/correlationId"))
	m.set("x-gobus-kind", kind)
	if c.endpoint != "" {
		m.set("x-gobus-endpoint", c.endpoint)
	}
	return m
}

func replyMessage(file *protogen.File, r *protogen.Message) mapping {
	m := mapping{}
	m.set("name", string(r.Desc.FullName()))
	m.set("title", string(r.Desc.Name()))
	if s := summary(r.Comments.Leading); s != "" {
		m.set("summary", s)
	}
	m.set("contentType", contentType)
	m.set("headers", headersWith(mapping{{"ce-type", mapping{{"const", string(r.Desc.FullName())}}}, {"ce-gobusintent", mapping{{"const", "reply"}}}}))
	m.set("payload", payload(file, r))
	m.set("correlationId", ref("#/components/correlationIds/correlationId"))
	m.set("x-gobus-kind", "reply")
	return m
}

func headersWith(fixed mapping) mapping {
	h := mapping{}
	h.set("type", "object")
	h.set("allOf", []any{ref("#/components/schemas/CloudEventsHeaders"), mapping{{"type", "object"}, {"properties", fixed}}})
	return h
}

func payload(f *protogen.File, m *protogen.Message) mapping {
	format := protoFormat3
	if syntaxOf(f) == "proto2" {
		format = protoFormat2
	}
	p := mapping{}
	p.set("schemaFormat", format)
	p.set("schema", protoSchema(f, m))
	return p
}

func failedMessage() mapping {
	m := mapping{}
	m.set("name", "FailedMessage")
	m.set("title", "A failed message")
	m.set("summary", "The original message, body and headers (but Nats-* publish instructions), plus the failure headers. Its Nats-Msg-Id is failed:<endpoint>:<stream>:<sequence>.")
	h := mapping{}
	h.set("type", "object")
	h.set("allOf", []any{ref("#/components/schemas/CloudEventsHeaders"), ref("#/components/schemas/FailureHeaders")})
	m.set("headers", h)
	m.set("x-gobus-kind", "failure")
	return m
}

func components(messages mapping) mapping {
	prefix := mapping{}
	prefix.set("default", "gobus")
	prefix.set("description", "The gobus prefix (WithPrefix): one NATS token, no '_', not KV or OBJ. Several environments share one NATS account with different prefixes.")
	corr := mapping{}
	corr.set("description", "The conversation id: ce-correlationid, or the message's own ce-id when absent.")
	corr.set("location", "$message.header#/ce-correlationid")
	c := mapping{}
	c.set("messages", messages)
	c.set("schemas", mapping{{"CloudEventsHeaders", cloudEventsHeaders()}, {"FailureHeaders", failureHeaders()}})
	c.set("parameters", mapping{{"prefix", prefix}})
	c.set("correlationIds", mapping{{"correlationId", corr}})
	return c
}

// header is one header's schema: a string, described, with an example.
func header(desc, example string) mapping {
	h := mapping{}
	h.set("type", "string")
	h.set("description", desc)
	if example != "" {
		h.set("examples", []any{example})
	}
	return h
}

func cloudEventsHeaders() mapping {
	props := mapping{}
	props.set("ce-specversion", mapping{{"type", "string"}, {"const", "1.0"}, {"description", "The CloudEvents version."}})
	props.set("ce-id", header("The message id; a retried send reuses it. Ids of messages a handler sends are derived from the incoming one (docs/wire.md, Ids and de-duplication).", "0f8b6c1e-2d4a-4c3b-9e5f-7a1b2c3d4e5f"))
	props.set("Nats-Msg-Id", header("JetStream's de-duplication id: the ce-id header's value. Senders must set it, or re-sends are stored twice.", "0f8b6c1e-2d4a-4c3b-9e5f-7a1b2c3d4e5f"))
	props.set("ce-type", header("The proto full name of the message; selects the handler.", "shop.sales.v1.PlaceOrder"))
	props.set("ce-source", header("The sending endpoint, or the client's source.", "sales"))
	props.set("ce-time", mapping{{"type", "string"}, {"format", "date-time"}, {"description", "When the message was sent, RFC 3339."}, {"examples", []any{"2025-06-01T10:00:00.221701841Z"}}})
	props.set("ce-datacontenttype", mapping{{"type", "string"}, {"description", "The body's encoding. gobus writes application/protobuf and reads application/x-protobuf and application/json (protojson) too."}, {"default", contentType}, {"examples", []any{contentType}}})
	props.set("ce-correlationid", header("The conversation id; absent means the message's own ce-id.", ""))
	props.set("ce-causationid", header("The ce-id of the message whose handler sent this one.", ""))
	props.set("ce-gobusintent", mapping{{"type", "string"}, {"enum", []any{"send", "publish", "reply"}}, {"description", "send for commands, publish for events, reply for replies."}})
	props.set("ce-gobusreplyto", header("On a command that asks for a reply: the subject the reply goes to.", "gobus.reply.storefront"))
	props.set("traceparent", header("W3C trace context, lowercase, not percent-encoded.", ""))
	props.set("tracestate", header("W3C trace context, lowercase, not percent-encoded.", ""))
	s := mapping{}
	s.set("type", "object")
	s.set("description", "CloudEvents 1.0 attributes as NATS headers (binary content mode): each value percent-encoded as the NATS protocol binding says (space, '\"', '%' and every byte outside U+0021-U+007E as %XY, upper-case hex). Names match regardless of case on receipt.")
	s.set("required", []any{"ce-specversion", "ce-id", "ce-type", "ce-source"})
	s.set("properties", props)
	return s
}

func failureHeaders() mapping {
	props := mapping{}
	props.set("gobus-failed-endpoint", header("The endpoint that failed the message.", "billing"))
	props.set("gobus-failed-subject", header("The subject it arrived on.", "gobus.evt.shop.sales.v1.OrderPlaced"))
	props.set("gobus-failed-stream", header("The stream it was in.", "gobus_events"))
	props.set("gobus-failed-sequence", header("Its sequence in that stream.", "42"))
	props.set("gobus-failed-at", mapping{{"type", "string"}, {"format", "date-time"}, {"description", "When it failed for good, RFC 3339 UTC."}})
	props.set("gobus-attempts", header("How many times its handler ran.", "7"))
	props.set("gobus-error-kind", mapping{{"type", "string"}, {"description", "Why it failed."}, {"enum", []any{
		"malformed", "wrong-subject", "unknown-type", "decode", "unimplemented", "unrecoverable",
		"panic", "too-large", "timeout", "exhausted-deliveries", "handler"}}})
	props.set("gobus-error-type", header("The error's type, for diagnostics.", "*errors.errorString"))
	props.set("gobus-error-message", header("The error text, at most 4 KiB; backslash, CR and LF escaped as \\\\, \\r and \\n, '%' and bytes outside printable ASCII as %XY.", "card declined"))
	props.set("gobus-error-stack", header("Panics only: the stack, at most 16 KiB, escaped as the message.", ""))
	s := mapping{}
	s.set("type", "object")
	s.set("required", []any{"gobus-failed-endpoint", "gobus-failed-subject", "gobus-failed-stream", "gobus-failed-sequence", "gobus-failed-at", "gobus-attempts", "gobus-error-kind"})
	s.set("properties", props)
	return s
}

// summary is the first sentence-line of a comment.
func summary(c protogen.Comments) string {
	text := commentText(string(c))
	if i := strings.Index(text, "\n\n"); i >= 0 {
		text = text[:i]
	}
	return strings.Join(strings.Fields(text), " ")
}

// commentText is a comment without the space after each "//".
func commentText(c string) string {
	lines := strings.Split(strings.TrimRight(c, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// tokenID is an endpoint name as part of an id: '-' is not allowed in
// every tool's ids.
func tokenID(endpoint string) string { return strings.ReplaceAll(endpoint, "-", "_") }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
