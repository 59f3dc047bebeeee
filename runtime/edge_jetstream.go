package gobus

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"
)

// edgeJetStream is an edge client's JetStream: what it publishes under
// the prefix for the hub goes to the forward stream instead, under
// <prefix>.fwd.<the rest of the subject>, so that it is stored on the
// edge whether or not the hub is reachable; what is for the endpoints the
// edge hosts stays as it is. Every other call, key-value and object
// stores included, goes to the JetStream it wraps.
type edgeJetStream struct {
	jetstream.JetStream
	names topology.Names
	local map[string]bool // subjects and filters that stay on the edge
}

func newEdgeJetStream(js jetstream.JetStream, names topology.Names, endpoints []string) *edgeJetStream {
	local := map[string]bool{}
	for _, ep := range endpoints {
		for _, s := range names.EdgeLocalSubjects(ep) {
			local[s] = true
		}
	}
	return &edgeJetStream{JetStream: js, names: names, local: local}
}

// forwarded is the subject a publish to subject goes to.
func (e *edgeJetStream) forwarded(subject string) string {
	if !strings.HasPrefix(subject, e.names.Prefix+".") || strings.HasPrefix(subject, e.names.Prefix+".fwd.") {
		return subject
	}
	if e.local[subject] {
		return subject
	}
	// Commands: <prefix>.cmd.<endpoint>.<suffix>, local by the filter
	// <prefix>.cmd.<endpoint>.>.
	if rest, ok := strings.CutPrefix(subject, e.names.Prefix+".cmd."); ok {
		if endpoint, _, ok := strings.Cut(rest, "."); ok && e.local[e.names.CommandSubjects(endpoint)] {
			return subject
		}
	}
	return e.names.Forwarded(subject)
}

// msg is m with the forwarded subject, a copy when it changes: callers
// may publish m again. Its JetStream headers but the message id, such as
// a schedule's, are renamed (see [forwardHeader]), so that the forward
// stream stores the message as it is and the hub's stream acts on them.
func (e *edgeJetStream) msg(m *nats.Msg) *nats.Msg {
	subject := e.forwarded(m.Subject)
	if subject == m.Subject {
		return m
	}
	c := &nats.Msg{Subject: subject, Reply: m.Reply, Data: m.Data, Header: nats.Header{}}
	for k, v := range m.Header {
		c.Header[forwardHeader(k)] = v
	}
	return c
}

// forwardedHeaderPrefix marks a JetStream header of a message in the
// forward stream, which the forwarder restores.
const forwardedHeaderPrefix = "Gobus-Fwd-"

// forwardHeader is the name header has in the forward stream: a
// JetStream header (Nats-…) other than Nats-Msg-Id gets
// [forwardedHeaderPrefix], every other keeps its name.
func forwardHeader(header string) string {
	if strings.HasPrefix(header, "Nats-") && header != nats.MsgIdHdr {
		return forwardedHeaderPrefix + header
	}
	return header
}

// unforwardHeader is the name of header from the forward stream as the
// hub gets it.
func unforwardHeader(header string) string {
	if rest, ok := strings.CutPrefix(header, forwardedHeaderPrefix); ok {
		return rest
	}
	return header
}

func (e *edgeJetStream) Publish(ctx context.Context, subject string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return e.JetStream.Publish(ctx, e.forwarded(subject), data, opts...)
}

func (e *edgeJetStream) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return e.JetStream.PublishMsg(ctx, e.msg(m), opts...)
}

func (e *edgeJetStream) PublishAsync(subject string, data []byte, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	return e.JetStream.PublishAsync(e.forwarded(subject), data, opts...)
}

func (e *edgeJetStream) PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	return e.JetStream.PublishMsgAsync(e.msg(m), opts...)
}
