package gobustest

import (
	"context"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The error stream's headers, as docs/wire.md ("The error stream") names
// them.
const (
	headerType         = "ce-type"
	headerID           = "ce-id"
	headerContentType  = "ce-datacontenttype"
	headerFailedAt     = "gobus-failed-endpoint"
	headerErrorKind    = "gobus-error-kind"
	headerErrorMessage = "gobus-error-message"
)

// watchErrors follows the error stream, <prefix>_errors, from its start
// with an ordered consumer, and records each message in it as failed.
func (b *Bus) watchErrors(ctx context.Context) error {
	js := b.Client.JetStream()
	cons, err := js.OrderedConsumer(ctx, b.Client.Prefix()+"_errors", jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { b.rec.add(failedEvent(m)) })
	if err != nil {
		return err
	}
	b.t.Cleanup(cc.Stop)
	return nil
}

// failedEvent reads a message of the error stream.
func failedEvent(m jetstream.Msg) Event {
	h := m.Headers()
	e := Event{What: WhatFailed, Type: h.Get(headerType), ID: h.Get(headerID), Endpoint: h.Get(headerFailedAt),
		ErrorKind: h.Get(headerErrorKind), Error: unescape(h.Get(headerErrorMessage))}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.Type))
	if err != nil {
		return e
	}
	msg := mt.New().Interface()
	if strings.HasPrefix(h.Get(headerContentType), "application/json") {
		err = protojson.Unmarshal(m.Data(), msg)
	} else {
		err = proto.Unmarshal(m.Data(), msg)
	}
	if err == nil {
		e.Message = msg
	}
	return e
}

// unescape decodes an error header as docs/wire.md says: %XY for a byte,
// and \n, \r and \\.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+2 < len(s):
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		case s[i] == '\\' && i+1 < len(s):
			if c, ok := map[byte]byte{'n': '\n', 'r': '\r', '\\': '\\'}[s[i+1]]; ok {
				b.WriteByte(c)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
