package schemas_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/gobusdev/gobus/internal/natstest"
	"github.com/gobusdev/gobus/internal/schemas"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/topology"
)

func connect(t *testing.T) (context.Context, jetstream.JetStream) {
	t.Helper()
	ns := natstest.RunServer(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx, js
}

func createBucket(ctx context.Context, t *testing.T, js jetstream.JetStream, prefix string) jetstream.KeyValue {
	t.Helper()
	kv, err := js.CreateKeyValue(ctx, topology.SchemasBucketConfig(schemas.BucketName(prefix), 1))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestPublishedTypeDecodesWithoutItsGoType(t *testing.T) {
	ctx, js := connect(t)
	kv := createBucket(ctx, t, js, "shop")
	work := (&gobustestv1.Work{}).ProtoReflect().Descriptor()
	if err := schemas.Publish(ctx, js, "shop", work); err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Open(ctx, js, "shop")
	if err != nil {
		t.Fatal(err)
	}
	msg := &gobustestv1.Work{Id: "order-7", FailTimes: 2}
	body, _ := proto.Marshal(msg)
	for _, ct := range []string{"", "application/protobuf", "application/x-protobuf"} {
		got, err := reg.ToJSON(ctx, "gobustest.v1.Work", ct, body)
		if err != nil {
			t.Fatalf("ToJSON as %q: %v", ct, err)
		}
		assertSameJSON(t, got, msg)
	}
	jsonBody, _ := protojson.Marshal(msg)
	got, err := reg.ToJSON(ctx, "gobustest.v1.Work", "application/json; charset=utf-8", jsonBody)
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, got, msg)

	// The value is a FileDescriptorSet a foreign client builds alone.
	e, err := kv.Get(ctx, "gobustest.v1.Work")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(e.Value(), &set); err != nil {
		t.Fatal(err)
	}
	if _, err := protodesc.NewFiles(&set); err != nil {
		t.Fatalf("the published set does not build on its own: %v", err)
	}
	if v, _ := reg.Version(ctx, "gobustest.v1.Work"); v != schemas.Version(e.Value()) {
		t.Errorf("Version = %s, want the SHA-256 of the value %s", v, schemas.Version(e.Value()))
	}
}

func assertSameJSON(t *testing.T, got []byte, want proto.Message) {
	t.Helper()
	m := &gobustestv1.Work{}
	if err := protojson.Unmarshal(got, m); err != nil {
		t.Fatalf("ToJSON gave %s: %v", got, err)
	}
	if !proto.Equal(m, want) {
		t.Errorf("ToJSON gave %s, want %v", got, want)
	}
}

func TestPublishingTheSameDescriptorsAddsNoRevision(t *testing.T) {
	ctx, js := connect(t)
	kv := createBucket(ctx, t, js, "shop")
	work := (&gobustestv1.Work{}).ProtoReflect().Descriptor()
	done := (&gobustestv1.WorkDone{}).ProtoReflect().Descriptor()
	for range 3 {
		if err := schemas.Publish(ctx, js, "shop", work, done); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"gobustest.v1.Work", "gobustest.v1.WorkDone"} {
		h, err := kv.History(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 {
			t.Errorf("%s has %d revisions after publishing the same descriptors 3 times, want 1", key, len(h))
		}
	}
}

func TestWithoutBucket(t *testing.T) {
	ctx, js := connect(t)
	work := (&gobustestv1.Work{}).ProtoReflect().Descriptor()
	if err := schemas.Publish(ctx, js, "shop", work); !errors.Is(err, schemas.ErrNoBucket) {
		t.Errorf("Publish without the bucket: %v, want ErrNoBucket", err)
	}
	reg, err := schemas.Open(ctx, js, "shop")
	if err != nil {
		t.Fatalf("Open without the bucket: %v, want none", err)
	}
	if _, err := reg.FindMessage(ctx, "gobustest.v1.Work"); !errors.Is(err, schemas.ErrUnknownType) {
		t.Errorf("FindMessage without the bucket: %v, want ErrUnknownType", err)
	}
}

func TestUnknownTypeAndBadBody(t *testing.T) {
	ctx, js := connect(t)
	createBucket(ctx, t, js, "shop")
	if err := schemas.Publish(ctx, js, "shop", (&gobustestv1.Work{}).ProtoReflect().Descriptor()); err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Open(ctx, js, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gobustest.v1.Missing", "not a name", ""} {
		if _, err := reg.FindMessage(ctx, name); !errors.Is(err, schemas.ErrUnknownType) {
			t.Errorf("FindMessage(%q): %v, want ErrUnknownType", name, err)
		}
	}
	if _, err := reg.ToJSON(ctx, "gobustest.v1.Work", "application/protobuf", []byte{0xff, 0xff}); err == nil {
		t.Error("ToJSON of a body that is not a Work succeeded")
	}
	if _, err := reg.ToJSON(ctx, "gobustest.v1.Work", "text/plain", []byte("x")); err == nil {
		t.Error("ToJSON of an unsupported content type succeeded")
	}
}
