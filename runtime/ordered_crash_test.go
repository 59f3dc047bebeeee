package gobus_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/topology"
	gobus "github.com/gobusdev/gobus/runtime"
)

// 10,000 commands over 100 keys, handled in order per key by 3 worker
// processes (internal/crashtest/worker -ordered); one is killed with
// SIGKILL in the middle of the stream. Each key's commands are handled in
// the order they were sent, one at a time across the processes, and none
// is lost: the messages the killed process held come back to the others
// after the ack wait, before any later message of their key, and every
// Work's WorkDone is stored once.
//
// The processes append each handler run to one file, whose order is the
// handling order of each key, since a key's commands run one at a time.
func TestCrashOrderedPerKeyWithOneProcessKilled(t *testing.T) {
	t.Parallel()
	const (
		keys   = 100
		perKey = 100
		n      = keys * perKey
		// The killed process's messages come back after the ack wait.
		ackWait = "2s"
		// A killed process holds at most one message per partition.
		maxAgain = topology.Partitions
	)
	bin := buildWorker(t)
	url := natstest.RunServer(t).ClientURL()
	c := connect(t, url, orderedByKey()) // the sender, keying Work as the workers do
	runsPath := filepath.Join(t.TempDir(), "runs.log")
	var workers []*workerProcess
	for i := range 3 {
		workers = append(workers, startWorker(t, bin, "-url", url, "-runs", runsPath, "-ack-wait", ackWait, "-ordered", "-instance", fmt.Sprintf("worker-%d", i)))
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := c.NewBatch(0)
	var ids []string
	for seq := range perKey {
		for k := range keys {
			id := fmt.Sprintf("key%03d/%d", k, seq)
			ids = append(ids, id)
			if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: id}, gobus.WithMessageID(workMessageID(id))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatalf("sending: %v", err)
	}
	sent := time.Since(start)

	handled := func() int {
		st, _ := streamState(c, faultEvents)
		return int(st.Msgs)
	}
	running := func() {
		for _, w := range workers {
			w.checkRunning(t)
		}
	}
	waitWithin(t, 30*time.Second, "a quarter of the Work handled before the kill", func() bool {
		running()
		return handled() >= n/4
	})
	workers[0].kill(t)
	atKill := handled()
	killedAt := time.Since(start)
	if atKill >= n {
		t.Fatalf("all %d handled before the kill: the test proves nothing; send more", atKill)
	}
	workers = workers[1:]
	waitWithin(t, 40*time.Second, "every Work handled after the kill", func() bool {
		running()
		return handled() >= n && partitionsSettled(c)
	})
	done := time.Since(start)
	for _, w := range workers {
		w.stop(t)
	}

	// Nothing lost: every Work has its effect, stored once.
	stored := storedWorkDone(t, c)
	missing, copies := 0, 0
	for _, id := range ids {
		switch k := stored[id]; {
		case k == 0:
			missing++
		case k > 1:
			copies += k - 1
		}
	}
	if missing > 0 || len(stored) != n {
		t.Errorf("%d of %d Work have no WorkDone (%d distinct stored): messages were lost", missing, n, len(stored))
	}
	if copies > 0 {
		t.Errorf("%d WorkDone stored more than once: derived ids should have dropped the copies", copies)
	}

	// In order per key, one at a time, across the processes.
	log := newHandlingLog()
	readOrderedRuns(t, runsPath, log)
	again := log.check(t, keys, perKey)
	if again > maxAgain {
		t.Errorf("%d handler runs repeated the one before them, more than the %d messages a killed process can hold", again, maxAgain)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for i := range 3 {
		if log.by[fmt.Sprintf("worker-%d", i)] == 0 {
			t.Errorf("worker-%d handled nothing: the partitions did not spread over the processes (%v)", i, log.by)
		}
	}
	t.Logf("%d Work over %d keys: sent in %s; worker-0 killed at %s with %d handled; all handled at %s; %d runs (%d again), by process %v",
		n, keys, sent.Round(time.Millisecond), killedAt.Round(time.Millisecond), atKill, done.Round(time.Millisecond), log.total, again, log.by)
}

// partitionsSettled reports whether every partition consumer of the
// worker endpoint has nothing pending and nothing unacknowledged.
func partitionsSettled(c *gobus.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	names := topology.Names{Prefix: "gobus"}
	for p := range topology.Partitions {
		cons, err := c.JetStream().Consumer(ctx, faultQueue, names.PartitionConsumer("worker", p))
		if err != nil {
			return false
		}
		if info := cons.CachedInfo(); info.NumPending != 0 || info.NumAckPending != 0 {
			return false
		}
	}
	return true
}

// readOrderedRuns reads the workers' file of handler runs, "<id>\t<worker>"
// per line in the order the runs started, into log.
func readOrderedRuns(t *testing.T, path string, log *handlingLog) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, worker, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("a line of %s is %q, want <id>\\t<worker>", path, sc.Text())
		}
		log.record(worker, id)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
