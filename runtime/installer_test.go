package gobus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// On a three-node cluster whose streams and queue consumer have three
// replicas, an endpoint whose client has no WithReplicas (so asks for 1)
// keeps them at three: it logs each difference and leaves the existing
// value. With WithStrictInstaller, the difference fails start-up. Before,
// Start turned the queue stream and its consumer into R1 silently.
func TestInstallerNeverLowersReplicas(t *testing.T) {
	t.Parallel()
	_, url := natstest.RunCluster(t, 3)
	admin := connectCluster(t, url) // creates the streams with 3 replicas
	// A consumer of three replicas of its own, as gobus created it before.
	retryWithin(t, "creating the R3 consumer", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := admin.JetStream().CreateOrUpdateConsumer(ctx, faultQueue, jetstream.ConsumerConfig{
			Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
			MaxAckPending: 1000, MaxDeliver: -1, Replicas: 3,
		})
		return err
	})

	log, logs := capturingLogger()
	var c *gobus.Client
	retryWithin(t, "connecting without WithReplicas", func() error {
		var err error
		c, err = gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(log))
		return err
	})
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ep, err := gobus.NewEndpoint(c, "worker")
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil })); err != nil {
		t.Fatal(err)
	}
	retryWithin(t, "starting the endpoint", func() error { return ep.Start(context.Background()) })

	info := leaderInfo(t, admin, faultQueue)
	if info.Config.Replicas != 3 || len(info.Cluster.Replicas) != 2 {
		t.Errorf("stream %s has %d replicas (%d followers) after Start, want 3", faultQueue, info.Config.Replicas, len(info.Cluster.Replicas))
	}
	cinfo := consumerInfo(t, admin, faultQueue, "worker")
	if cinfo.Config.Replicas != 3 || cinfo.Cluster == nil || len(cinfo.Cluster.Replicas) != 2 {
		t.Errorf("consumer worker has %d replicas after Start, want 3", cinfo.Config.Replicas)
	}
	for _, want := range []string{
		"stream=gobus_queue_worker setting=replicas existing=3 wanted=1",
		"stream=gobus_events setting=replicas existing=3 wanted=1",
		"consumer=worker stream=gobus_queue_worker setting=replicas existing=3 wanted=1",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning %q in the log:\n%s", want, logs.String())
		}
	}

	_, err = gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithStrictInstaller())
	if err == nil || !strings.Contains(err.Error(), "replicas is 3, the options want 1") {
		t.Errorf("Connect with WithStrictInstaller: %v, want an error naming the replicas", err)
	}
}

// The installer leaves the settings of an existing stream and consumer
// that an operator may have chosen as they are, and updates only those the
// endpoint's options decide: here the ack wait.
func TestInstallerKeepsOperatorSettings(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	admin := connect(t, url)
	ctx := context.Background()
	js := admin.JetStream()
	s, err := js.Stream(ctx, faultQueue)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Duplicates = 10 * time.Minute
	cfg.MaxMsgs = 1_000_000
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, faultQueue, jetstream.ConsumerConfig{
		Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxAckPending: 1000, MaxDeliver: -1, MaxWaiting: 64,
	}); err != nil {
		t.Fatal(err)
	}

	log, logs := capturingLogger()
	c := connect(t, url, gobus.WithLogger(log))
	startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error { return nil }))
	}, gobus.WithAckWait(5*time.Second))

	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Duplicates != 10*time.Minute || info.Config.MaxMsgs != 1_000_000 {
		t.Errorf("stream settings changed: duplicate window %s, max msgs %d; want 10m and 1000000", info.Config.Duplicates, info.Config.MaxMsgs)
	}
	if !strings.Contains(logs.String(), "stream=gobus_queue_worker setting=duplicate_window existing=10m0s wanted=2m0s") {
		t.Errorf("no warning about the duplicate window in the log:\n%s", logs.String())
	}
	ci := consumerInfo(t, admin, faultQueue, "worker")
	if ci.Config.MaxWaiting != 64 || ci.Config.AckWait != 5*time.Second {
		t.Errorf("consumer: max waiting %d, ack wait %s; want 64 (kept) and 5s (the endpoint's)", ci.Config.MaxWaiting, ci.Config.AckWait)
	}

	_, err = gobus.Connect(ctx, gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithStrictInstaller())
	if err == nil || !strings.Contains(err.Error(), "duplicate_window is 10m0s, the options want 2m0s") {
		t.Errorf("Connect with WithStrictInstaller: %v, want an error naming the duplicate window", err)
	}
}

// consumerInfo returns a consumer's info, retrying while a cluster
// settles.
func consumerInfo(t *testing.T, c *gobus.Client, stream, name string) *jetstream.ConsumerInfo {
	t.Helper()
	var info *jetstream.ConsumerInfo
	waitWithin(t, 30*time.Second, "the info of consumer "+name, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		cons, err := c.JetStream().Consumer(ctx, stream, name)
		if err != nil {
			return false
		}
		info, err = cons.Info(ctx)
		return err == nil
	})
	return info
}

// With WithStrictInstaller, an endpoint whose own queue stream differs from
// the options fails to start, naming the stream and the setting; without
// it, it starts and keeps the stream's setting.
func TestStrictInstallerFailsStart(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	admin := connect(t, url)
	ctx := context.Background()
	// "listener" only handles events, so no client creates its queue in
	// Connect: its Start does.
	if _, err := admin.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name:       "gobus_queue_listener",
		Subjects:   []string{"gobus.cmd.listener.>", "gobus.retry.listener"},
		Retention:  jetstream.WorkQueuePolicy,
		Duplicates: 10 * time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	register := func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, workDoneFunc(func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error { return nil }))
	}
	strict := connect(t, url, gobus.WithStrictInstaller())
	ep, err := gobus.NewEndpoint(strict, "listener")
	if err != nil {
		t.Fatal(err)
	}
	if err := register(ep); err != nil {
		t.Fatal(err)
	}
	err = ep.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "stream gobus_queue_listener: duplicate_window is 10m0s, the options want 2m0s") {
		t.Errorf("Start with WithStrictInstaller: %v, want an error naming the stream and its duplicate window", err)
	}
	_ = ep.Stop(ctx)

	lenient := connect(t, url)
	startEndpoint(t, lenient, "listener", register)
	s, err := admin.JetStream().Stream(ctx, "gobus_queue_listener")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Duplicates; got != 10*time.Minute {
		t.Errorf("the duplicate window is %s after a lenient Start, want 10m kept", got)
	}
}
