package gobustest

import (
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	gobus "github.com/gobusdev/gobus/runtime"
)

// NewContext returns a MessageContext for handling msg in a test, tied to
// no endpoint: call the handler with it, then read what the handler sent,
// published, replied and scheduled with [Sent], [Published], [Replied],
// [Scheduled] and [Cancelled], or expect one of them with [ExpectSent] and
// its kin. Nothing is dispatched; no server is needed.
//
// The context says msg's proto full name for its type, a random id that
// is also its correlation id, endpoint "test", attempt and delivery 1 and
// the current time, unless opts say otherwise.
func NewContext(msg proto.Message, opts ...ContextOption) *gobus.MessageContext {
	info := gobus.MessageInfo{Headers: map[string]string{}}
	if msg != nil {
		info.Type = string(msg.ProtoReflect().Descriptor().FullName())
	}
	for _, o := range opts {
		o(&info)
	}
	return gobus.NewDetachedMessageContext(info)
}

// ContextOption sets what a context made by [NewContext] says about its
// message.
type ContextOption func(*gobus.MessageInfo)

// WithID sets the message id.
func WithID(id string) ContextOption { return func(i *gobus.MessageInfo) { i.ID = id } }

// WithCorrelationID sets the conversation's id; by default it is the
// message id.
func WithCorrelationID(id string) ContextOption {
	return func(i *gobus.MessageInfo) { i.CorrelationID = id }
}

// WithCausationID sets the id of the message whose handler sent this one.
func WithCausationID(id string) ContextOption {
	return func(i *gobus.MessageInfo) { i.CausationID = id }
}

// WithSource sets the endpoint or program that sent the message.
func WithSource(source string) ContextOption {
	return func(i *gobus.MessageInfo) { i.Source = source }
}

// WithEndpoint sets the endpoint handling the message; by default "test".
func WithEndpoint(name string) ContextOption {
	return func(i *gobus.MessageInfo) { i.Endpoint = name }
}

// WithAttempt sets which try of the message this is, as
// [gobus.MessageContext.Attempt] counts; by default 1.
func WithAttempt(n int) ContextOption { return func(i *gobus.MessageInfo) { i.Attempt = n } }

// WithDelivery sets how many times the server delivered the message, as
// [gobus.MessageContext.Delivery] counts; by default 1.
func WithDelivery(n int) ContextOption { return func(i *gobus.MessageInfo) { i.Delivery = n } }

// WithTime sets when the message was sent; by default now.
func WithTime(t time.Time) ContextOption { return func(i *gobus.MessageInfo) { i.Time = t } }

// WithHeader sets a NATS header of the message.
func WithHeader(name, value string) ContextOption {
	return func(i *gobus.MessageInfo) { i.Headers[name] = value }
}

// WithSubject sets the NATS subject the message arrived on.
func WithSubject(subject string) ContextOption {
	return func(i *gobus.MessageInfo) { i.Subject = subject }
}

// WithLogger takes what the runtime logs while the handler runs; by
// default it is discarded.
func WithLogger(l *slog.Logger) ContextOption { return func(i *gobus.MessageInfo) { i.Logger = l } }
