package gobus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// On a three-node cluster with streams of three replicas, losing the server
// that leads the endpoint's queue stream in the middle of a stream of
// messages loses nothing: the remaining two elect a new leader, the
// endpoint and the sender carry on (through their connections' fail-over
// if they were connected to the lost server), and every Work sent has its
// WorkDone stored, once.
func TestClusterQueueLeaderLossLosesNothing(t *testing.T) {
	t.Parallel()
	testLeaderLoss(t, faultQueue, false)
}

// Losing the server that leads the events stream, where handlers publish,
// loses nothing either. The endpoint and the sender are connected to the
// other servers, so their connections stay up: a publish whose
// acknowledgement died with the leader must time out and be retried, not
// wait forever.
func TestClusterEventsLeaderLossLosesNothing(t *testing.T) {
	t.Parallel()
	testLeaderLoss(t, faultEvents, true)
}

// testLeaderLoss sends Work to an endpoint on a three-node cluster with
// streams of three replicas and stops the server leading stream in the
// middle. With pin, the endpoint and the sender connect only to the other
// servers; else to all three.
func testLeaderLoss(t *testing.T, stream string, pin bool) {
	const (
		n = 2000
		// What an endpoint instance holds at once: its concurrency plus
		// its prefetch.
		held = gobus.DefaultConcurrency + 4*gobus.DefaultConcurrency
	)
	servers, url := natstest.RunCluster(t, 3)
	admin := connectCluster(t, url) // creates the streams
	info := leaderInfo(t, admin, stream)
	if info.Config.Replicas != 3 || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream %s has %d replicas (%d followers), want 3", stream, info.Config.Replicas, len(info.Cluster.Replicas))
	}
	var leader *server.Server
	var others []string
	for _, ns := range servers {
		if ns.Name() == info.Cluster.Leader {
			leader = ns
		} else {
			others = append(others, ns.ClientURL())
		}
	}
	if leader == nil || !leader.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
		t.Fatalf("stream %s leader %q is not one of the servers", stream, info.Cluster.Leader)
	}
	senderURL, workerURL := url, url
	if pin {
		senderURL, workerURL = others[0], others[1]
	}
	sender := connectCluster(t, senderURL)
	worker := connectCluster(t, workerURL)
	runs := newCounter()
	ep, err := gobus.NewEndpoint(worker, "worker",
		gobus.WithAckWait(5*time.Second), // acks lost with the leader come back after it
		// Retry long enough to outlast an election.
		gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 3, Delayed: 10, Delay: 250 * time.Millisecond, MaxDelay: 2 * time.Second}),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		runs.add(w.GetId())
		return gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: w.GetId()})
	}))
	if err != nil {
		t.Fatal(err)
	}
	retryWithin(t, "starting the endpoint", func() error { return ep.Start(context.Background()) })
	// The leader of the queue's consumer may be elsewhere; losing it is the
	// slower case: the endpoint notices by missed heartbeats.
	consumerLeader := ""
	for _, ns := range servers {
		if ns.JetStreamIsConsumerLeader(server.DEFAULT_GLOBAL_ACCOUNT, faultQueue, "worker") {
			consumerLeader = ns.Name()
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := &workSender{c: sender}
	start := time.Now()
	sending := s.sendPaced(ctx, workIDs(n), 25, 200, runs.distinct)
	waitWithin(t, 30*time.Second, "a third handled before the leader stops", func() bool { return runs.distinct() >= n/3 })
	atStop := runs.distinct()
	stopAt := time.Since(start)
	leader.Shutdown()
	leader.WaitForShutdown()
	stopped := time.Since(start)

	var newLeader string
	waitWithin(t, 30*time.Second, "a new leader of "+stream, func() bool {
		info, ok := tryStreamInfo(sender, stream)
		if ok && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != leader.Name() {
			newLeader = info.Cluster.Leader
		}
		return newLeader != ""
	})
	elected := time.Since(start)
	// More than the endpoint held at the stop: Work delivered since. (The
	// Work sent after the stop, stored by the new leader, follow.)
	waitWithin(t, 30*time.Second, "handling resumed after the stop", func() bool {
		return runs.distinct() >= min(n, atStop+2*held)
	})
	resumed := time.Since(start)
	if err := receive(t, sending, "the sender"); err != nil {
		t.Fatal(err)
	}
	state := func(name string) jetstream.StreamState {
		st, _ := streamState(sender, name)
		return st
	}
	waitWithin(t, 30*time.Second, "every Work handled", func() bool {
		return state(faultEvents).Msgs >= n && queueSettled(sender)
	})
	all := time.Since(start)

	stored := storedWorkDone(t, sender)
	for _, id := range workIDs(n) {
		if stored[id] != 1 {
			t.Errorf("Work %s has %d WorkDone stored, want 1", id, stored[id])
		}
	}
	checkQueue(t, sender, n, stored)
	if got := state(faultErrors).Msgs; got != 0 {
		t.Errorf("the error stream holds %d messages, want 0", got)
	}
	t.Logf("%d Work on 3 nodes, R3: %s leader %s (queue consumer leader %s) stopped at %s with %d handled (down at %s), "+
		"%s elected at %s, handling resumed at %s, all handled at %s; %d sends repeated; %d handler runs (%d duplicate)",
		n, stream, leader.Name(), consumerLeader, stopAt.Round(time.Millisecond), atStop, stopped.Round(time.Millisecond),
		newLeader, elected.Round(time.Millisecond), resumed.Round(time.Millisecond), all.Round(time.Millisecond),
		s.resent.Load(), runs.sum(), runs.sum()-n)
}

// clusterSetupTimeout bounds the set-up of a test on a fresh cluster.
const clusterSetupTimeout = 30 * time.Second

// connectCluster connects to a cluster with streams of three replicas.
// Creating them can outlast JetStream's API timeout on a loaded machine,
// and Connect is idempotent, so it is tried again for up to 30s.
func connectCluster(t *testing.T, url string) *gobus.Client {
	t.Helper()
	var c *gobus.Client
	retryWithin(t, "connecting to the cluster", func() error {
		var err error
		c, err = gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithReplicas(3))
		return err
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// retryWithin calls f until it succeeds, failing the test with its last
// error after 30s.
func retryWithin(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(clusterSetupTimeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v (still failing after %s)", what, err, clusterSetupTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leaderInfo returns a stream's info, once it has a leader.
func leaderInfo(t *testing.T, c *gobus.Client, stream string) *jetstream.StreamInfo {
	t.Helper()
	var info *jetstream.StreamInfo
	waitWithin(t, 30*time.Second, "a leader of "+stream, func() bool {
		var ok bool
		info, ok = tryStreamInfo(c, stream)
		return ok && info.Cluster != nil && info.Cluster.Leader != ""
	})
	return info
}

// tryStreamInfo returns a stream's info, or ok false while it cannot be
// had.
func tryStreamInfo(c *gobus.Client, stream string) (*jetstream.StreamInfo, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, stream)
	if err != nil {
		return nil, false
	}
	info, err := s.Info(ctx)
	return info, err == nil
}
