package gobus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/schemas"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

func TestStartPublishesDescriptorsToTheRegistry(t *testing.T) {
	c := connect(t, newServerURL(t))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil }))
	})
	ctx := context.Background()
	reg, err := schemas.Open(ctx, c.JetStream(), c.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	// The handled type, a routed type nobody here handles, and a reply.
	for _, name := range []string{"gobustest.v1.Work", "gobustest.v1.WorkAudited", "gobustest.v1.Quoted"} {
		if _, err := reg.FindMessage(ctx, name); err != nil {
			t.Errorf("FindMessage(%s) after Start: %v", name, err)
		}
	}
	body, _ := proto.Marshal(&gobustestv1.Work{Id: "w1", FailTimes: 3})
	got, err := reg.ToJSON(ctx, "gobustest.v1.Work", "application/protobuf", body)
	if err != nil {
		t.Fatal(err)
	}
	var back gobustestv1.Work
	if err := protojson.Unmarshal(got, &back); err != nil || back.GetId() != "w1" || back.GetFailTimes() != 3 {
		t.Errorf("ToJSON = %s (%v), want the Work", got, err)
	}

	// A second endpoint of the client publishes nothing new: no revision.
	startEndpoint(t, c, "archive", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error { return nil }))
	})
	kv, err := c.JetStream().KeyValue(ctx, schemas.BucketName(c.Prefix()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := kv.History(ctx, "gobustest.v1.Work")
	if err != nil || len(h) != 1 {
		t.Errorf("gobustest.v1.Work has %d revisions (%v), want 1", len(h), err)
	}
}

func TestWithoutInstallerStartSkipsAMissingRegistry(t *testing.T) {
	url := newServerURL(t)
	// Streams and consumers made by an installing client, not the bucket.
	setup := connect(t, url)
	first := startEndpoint(t, setup, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil }))
	})
	ctx := context.Background()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := setup.JetStream().DeleteKeyValue(ctx, schemas.BucketName(setup.Prefix())); err != nil {
		t.Fatal(err)
	}
	c := connect(t, url, gobus.WithoutInstaller())
	handled := make(chan string, 1)
	ep, err := gobus.NewEndpoint(c, "worker")
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(_ context.Context, _ *gobus.MessageContext, w *gobustestv1.Work) error {
		handled <- w.GetId()
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(ctx); err != nil {
		t.Fatalf("Start without the installer or a schema registry: %v", err)
	}
	t.Cleanup(func() { _ = ep.Stop(context.Background()) })
	if _, err := c.JetStream().KeyValue(ctx, schemas.BucketName(c.Prefix())); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("the registry bucket was created with the installer off (lookup: %v)", err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "w1"}); err != nil {
		t.Fatal(err)
	}
	receive(t, handled, "the Work")
}
