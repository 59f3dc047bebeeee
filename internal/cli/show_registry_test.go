package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/gobusdev/gobus/internal/schemas"
	"github.com/gobusdev/gobus/internal/wire"
)

// A contract this binary was never built with: regtest.v1.Parcel.
func newParcel(t *testing.T) *dynamicpb.Message {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("regtest/v1/parcel.proto"),
		Package: proto.String("regtest.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Parcel"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("label"), JsonName: proto.String("label"), Number: proto.Int32(1),
				Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(fd.Messages().Get(0))
	m.Set(fd.Messages().Get(0).Fields().Get(0), protoreflect.ValueOfString("fragile, this side up"))
	return m
}

// errors show decodes the body of a type linked nowhere, through the
// descriptors an endpoint published to the schema registry.
func TestShowDecodesThroughTheRegistry(t *testing.T) {
	t.Parallel()
	b := newBus(t) // its endpoints created the registry bucket
	parcel := newParcel(t)
	if _, err := protoregistry.GlobalTypes.FindMessageByName("regtest.v1.Parcel"); err == nil {
		t.Fatal("regtest.v1.Parcel is linked into the test binary; the test would prove nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	js := b.client.JetStream()
	if err := schemas.Publish(ctx, js, b.client.Prefix(), parcel.Descriptor()); err != nil {
		t.Fatal(err)
	}
	body, _ := proto.Marshal(parcel)
	if _, err := js.PublishMsg(ctx, failedCopy("regtest.v1.Parcel", body)); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(list(t, b.url)[0].ID)
	var shown struct {
		Decoded bool            `json:"body_decoded"`
		Body    json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, b.url, "errors", "show", id, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if !shown.Decoded || !strings.Contains(string(shown.Body), `"label": "fragile, this side up"`) {
		t.Errorf("body not decoded through the registry: decoded %v, %s", shown.Decoded, shown.Body)
	}
	text := mustCLI(t, b.url, "errors", "show", id)
	if !strings.Contains(text, "fragile, this side up") {
		t.Errorf("errors show did not print the decoded body:\n%s", text)
	}
}

// failedCopy is a message of type typ as the worker endpoint would have
// moved it to the error stream.
func failedCopy(typ string, body []byte) *nats.Msg {
	env := wire.Envelope{ID: "p-1", Type: typ, Source: "depot", Time: time.Now(), ContentType: wire.ContentTypeProtobuf, CorrelationID: "p-1", Intent: wire.IntentSend, Data: body}
	m := env.Message("gobus.err.worker")
	for k, v := range map[string]string{
		wire.HeaderFailedEndpoint: "worker", wire.HeaderFailedSubject: "gobus.cmd.worker." + typ,
		wire.HeaderFailedStream: "gobus_queue_worker", wire.HeaderFailedSequence: "1",
		wire.HeaderFailedAt: time.Now().UTC().Format(time.RFC3339), wire.HeaderAttempts: "1",
		wire.HeaderErrorKind: "handler", wire.HeaderErrorType: "*errors.errorString", wire.HeaderErrorMessage: "the label is smudged",
	} {
		m.Header.Set(k, v)
	}
	return m
}
