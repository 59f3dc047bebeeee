package gobus_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// An edge process killed with SIGKILL while it forwards to the hub, and
// started again on its store, forwards the rest: the hub's endpoint
// handles every command the edge stored, in the order sent, each once —
// the one the kill may have caught between the hub's store and the edge's
// acknowledgement is forwarded again and dropped by the hub as a
// duplicate.
func TestCrashEdgeKilledWhileForwarding(t *testing.T) {
	t.Parallel()
	const n = 3000
	bin := buildCrashBinary(t, "edge")
	hub := natstest.RunHub(t, "hub")
	central := connect(t, hub.ClientURL())
	var work seen
	startEndpoint(t, central, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkerHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			work.add(w.GetId())
			return nil
		}))
	}, gobus.WithConcurrency(1))

	store := t.TempDir()
	args := []string{"-hub", hub.LeafURL(), "-store", store}
	first := startWorker(t, bin, append(args, "-n", fmt.Sprint(n))...)
	waitWithin(t, 60*time.Second, "the edge to store every Work", func() bool {
		first.checkRunning(t)
		return strings.Contains(first.output.String(), "sent")
	})
	waitWithin(t, 60*time.Second, "a tenth of the Work forwarded before the kill", func() bool {
		first.checkRunning(t)
		return work.len() >= n/10
	})
	first.kill(t)
	atKill := work.len()
	if atKill >= n {
		t.Fatalf("all %d forwarded before the kill: the test proves nothing; send more", atKill)
	}

	second := startWorker(t, bin, args...)
	waitWithin(t, 60*time.Second, "every Work forwarded after the restart", func() bool {
		second.checkRunning(t)
		return work.len() >= n
	})
	second.stop(t)
	// The hub's queue stored each once: a second forward was dropped.
	if st, ok := streamState(central, "gobus_queue_worker"); !ok || st.LastSeq != n {
		t.Fatalf("the hub's queue stored %d messages (ok %v), want %d", st.LastSeq, ok, n)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("w%05d", i)
	}
	if got := work.list(); !slices.Equal(got, want) {
		t.Fatalf("the hub's worker handled %d commands, want %d in the order sent: %s", len(got), n, firstDifference(got, want))
	}
	t.Logf("%d Work stored on the edge, the edge killed with %d forwarded; all handled once, in order, after the restart", n, atKill)
}
