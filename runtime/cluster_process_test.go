package gobus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// On a three-node cluster whose servers are processes of their own, with
// streams of three replicas, a kill -9 of the server leading the
// endpoint's queue stream in the middle of a stream of Work, and its
// restart on the same store, lose nothing: every Work has its WorkDone
// stored, once; the queue stored each Work once; and the queue stream
// still has three replicas, all current, as has its consumer. The test measures the time until
// the queue stream has a new leader and the longest stall of handling
// after the kill.
func TestClusterProcessKilledQueueLeaderLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 2000
	pc := natstest.RunProcessCluster(t, 3)
	url := pc.URL()
	admin := connectCluster(t, url) // creates the streams with three replicas
	info := leaderInfo(t, admin, faultQueue)
	checkReplicas(t, info, "at the start")
	leader := pc.Node(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("stream %s leader %q is not one of the servers", faultQueue, info.Cluster.Leader)
	}
	// The observer is connected to another server than the leader, so it
	// sees the election without a reconnection of its own.
	var observer *gobus.Client
	for _, node := range pc.Nodes {
		if node != leader && observer == nil {
			observer = connectCluster(t, node.URL())
		}
	}
	sender := connectCluster(t, url)
	worker := connectCluster(t, url)
	runs := newHandlingClock()
	ep, err := gobus.NewEndpoint(worker, "worker",
		gobus.WithAckWait(5*time.Second),
		gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 3, Delayed: 20, Delay: 250 * time.Millisecond, MaxDelay: 2 * time.Second}),
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
	consumerLeader := consumerInfo(t, admin, faultQueue, "worker").Cluster.Leader

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	s := &workSender{c: sender}
	start := time.Now()
	sending := s.sendPaced(ctx, workIDs(n), 25, 200, runs.distinct)
	waitWithin(t, 20*time.Second, "a third handled before the kill", func() bool { return runs.distinct() >= n/3 })
	atKill := runs.distinct()
	leader.Kill(t)
	killed := time.Now()

	var newLeader string
	waitWithin(t, 30*time.Second, "a new leader of "+faultQueue, func() bool {
		info, ok := quickStreamInfo(observer, faultQueue)
		if ok && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != leader.Name {
			newLeader = info.Cluster.Leader
		}
		return newLeader != ""
	})
	elected := time.Since(killed)
	waitWithin(t, 30*time.Second, "handling resumed after the kill", func() bool { return runs.distinct() >= min(n, atKill+300) })
	resumed := time.Since(killed)

	leader.Start(t) // on the same ports and store
	restarted := time.Now()
	leader.WaitHealthy(t, 30*time.Second)
	healthy := time.Since(restarted)
	if err := receive(t, sending, "the sender"); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, 30*time.Second, "every Work handled", func() bool {
		st, _ := streamState(sender, faultEvents)
		return st.Msgs >= n && queueSettled(sender)
	})
	all := time.Since(start)

	stored := storedWorkDone(t, sender)
	for _, id := range workIDs(n) {
		if stored[id] != 1 {
			t.Errorf("Work %s has %d WorkDone stored, want 1", id, stored[id])
		}
	}
	checkQueue(t, sender, n, stored)
	if st, _ := streamState(sender, faultErrors); st.Msgs != 0 {
		t.Errorf("the error stream holds %d messages, want 0", st.Msgs)
	}
	waitWithin(t, 30*time.Second, "three current replicas of "+faultQueue, func() bool {
		info, ok := tryStreamInfo(admin, faultQueue)
		return ok && replicasCurrent(info) == 3
	})
	checkReplicas(t, leaderInfo(t, admin, faultQueue), "after the restart")
	waitWithin(t, 30*time.Second, "three replicas of the queue consumer", func() bool {
		ci := consumerInfo(t, admin, faultQueue, "worker")
		return ci.Cluster != nil && ci.Cluster.Leader != "" && len(ci.Cluster.Replicas) == 2
	})
	stall, stallAt := runs.longestGap(killed)
	t.Logf("%d Work on 3 node processes, R3: killed %s (leader of %s; queue consumer leader %s) with %d handled; "+
		"new leader %s after %s; handling stalled %s at most (from %s after the kill), resumed at %s; "+
		"restarted node healthy %s after its start; all handled %s after the start; %d sends repeated; %d handler runs (%d duplicate)",
		n, leader.Name, faultQueue, consumerLeader, atKill, newLeader, elected.Round(time.Millisecond),
		stall.Round(time.Millisecond), stallAt.Round(time.Millisecond), resumed.Round(time.Millisecond),
		healthy.Round(time.Millisecond), all.Round(time.Millisecond), s.resent.Load(), runs.sum(), runs.sum()-n)
}

// quickStreamInfo returns a stream's info, or ok false if it does not come
// within 250ms: an election is timed to a quarter of a second.
func quickStreamInfo(c *gobus.Client, stream string) (*jetstream.StreamInfo, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, stream)
	if err != nil {
		return nil, false
	}
	info, err := s.Info(ctx)
	return info, err == nil
}

// checkReplicas fails the test unless the stream has three replicas, a
// leader and two followers.
func checkReplicas(t *testing.T, info *jetstream.StreamInfo, when string) {
	t.Helper()
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Errorf("%s: stream %s has %d replicas configured, want 3 (cluster %+v)", when, info.Config.Name, info.Config.Replicas, info.Cluster)
	}
}

// replicasCurrent counts the stream's leader and its current followers.
func replicasCurrent(info *jetstream.StreamInfo) int {
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return 0
	}
	current := 1
	for _, r := range info.Cluster.Replicas {
		if r.Current && !r.Offline {
			current++
		}
	}
	return current
}

// handlingClock counts handled Work ids, and remembers when each one was
// first handled, to find stalls.
type handlingClock struct {
	*counter
	mu    sync.Mutex
	times []time.Time // first handlings, in order
}

func newHandlingClock() *handlingClock { return &handlingClock{counter: newCounter()} }

func (h *handlingClock) add(id string) {
	first := h.count(id) == 0
	h.counter.add(id)
	if first {
		h.mu.Lock()
		h.times = append(h.times, time.Now())
		h.mu.Unlock()
	}
}

// longestGap returns the longest time after since without a Work handled
// for the first time, and when, after since, it began.
func (h *handlingClock) longestGap(since time.Time) (gap, at time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := since
	for _, t := range h.times {
		if t.Before(since) {
			continue
		}
		if d := t.Sub(prev); d > gap {
			gap, at = d, prev.Sub(since)
		}
		prev = t
	}
	return gap, at
}
