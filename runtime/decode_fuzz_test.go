package gobus

// A fuzz target for the decoding of message bodies. Its seed corpus, under
// testdata/fuzz/FuzzDecode, runs as an ordinary test; to fuzz, run
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 20s ./runtime

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gobusdev/gobus/internal/wire"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// FuzzDecode runs a body with a content type through the handlers'
// decoding, as the pump does after wire.Parse, into messages of several
// shapes (this package's tests cannot import generated gobus contracts,
// which import it): a gobus option message, a map with recursive values,
// Any, which protojson resolves by type name, a timestamp with its own
// JSON form, and descriptor.proto's proto2 messages. Decoding never
// panics; a body that does not decode is a decode error that skips the
// retries; a message that decodes can be encoded again.
func FuzzDecode(f *testing.F) {
	regs := []*registration{
		fuzzRegistration[*gobusv1.CommandOptions](),
		fuzzRegistration[*structpb.Struct](),
		fuzzRegistration[*anypb.Any](),
		fuzzRegistration[*timestamppb.Timestamp](),
		fuzzRegistration[*descriptorpb.FileDescriptorProto](),
	}
	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		contentType = wire.MediaType(contentType)
		for _, reg := range regs {
			msg, err := reg.decode(body{data: data, contentType: contentType})
			if err == nil {
				err = reg.call(context.Background(), nil, msg)
			}
			if err == nil {
				continue
			}
			var d *decodeError
			if !errors.As(err, &d) || !isUnrecoverable(err) || errorKind(err) != kindDecode {
				t.Fatalf("%s: %T %v is not a decode error that skips the retries", reg.route.Type, err, err)
			}
		}
	})
}

// fuzzRegistration registers a handler for M, as HandleCommand does, that
// checks what it is given.
func fuzzRegistration[M proto.Message]() *registration {
	var zero M
	typ := string(zero.ProtoReflect().Descriptor().FullName())
	return newRegistration(Route{Type: typ, Kind: KindCommand}, func(_ context.Context, _ *MessageContext, msg M) error {
		if !msg.ProtoReflect().IsValid() {
			panic("decoded into an invalid message")
		}
		if _, err := proto.Marshal(msg); err != nil {
			panic("a decoded message does not encode: " + err.Error())
		}
		return nil
	})
}
