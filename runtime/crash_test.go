package gobus_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/wire"
	gobus "github.com/gobusdev/gobus/runtime"
)

// An endpoint process killed with SIGKILL in the middle of 10,000 messages
// and started again handles every one of them: none is lost. The worker
// (internal/crashtest/worker) is a real process; a Work counts as handled
// once its WorkDone event, published from the handler, is stored. Handler
// runs are counted from the worker's log: the messages whose handler ran
// but whose ack the kill lost run again, at most as many as the process
// held at the kill (its concurrency plus its prefetch). Their WorkDone
// events carry ids derived from the Work's id, so JetStream stores each
// one once.
func TestCrashKilledEndpointLosesNothing(t *testing.T) {
	t.Parallel()
	const (
		n = 10_000
		// The worker runs with the default concurrency and prefetch.
		maxInFlight = gobus.DefaultConcurrency + 4*gobus.DefaultConcurrency
		// The messages the killed process held come back after the ack
		// wait; keep it short, and long enough that a busy machine does not
		// time out messages waiting in the prefetch buffer.
		ackWait = "5s"
	)
	bin := buildWorker(t)
	ns := natstest.RunServer(t)
	url := ns.ClientURL()
	c := connect(t, url) // creates the queue and events streams
	runsPath := filepath.Join(t.TempDir(), "runs.log")
	args := []string{"-url", url, "-runs", runsPath, "-ack-wait", ackWait}

	start := time.Now()
	first := startWorker(t, bin, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := &workSender{c: c}
	if err := s.send(ctx, workIDs(n)); err != nil {
		t.Fatal(err)
	}
	sent := time.Since(start)

	handled := func() int {
		st, _ := streamState(c, faultEvents)
		return int(st.Msgs)
	}
	waitWithin(t, 30*time.Second, "a quarter of the Work handled before the kill", func() bool {
		first.checkRunning(t)
		return handled() >= n/4
	})
	first.kill(t)
	atKill := handled()
	killedAt := time.Since(start)
	if atKill >= n {
		t.Fatalf("all %d handled before the kill: the test proves nothing; send more", atKill)
	}

	second := startWorker(t, bin, args...)
	waitWithin(t, 45*time.Second, "every Work handled after the restart", func() bool {
		second.checkRunning(t)
		return handled() >= n && queueSettled(c)
	})
	recovered := time.Since(start)
	second.stop(t)

	// Every Work has its effect, stored once.
	done := storedWorkDone(t, c)
	missing := 0
	for _, id := range workIDs(n) {
		if done[id] == 0 {
			missing++
		}
	}
	stored := 0
	for _, k := range done {
		stored += k
	}
	if missing > 0 || len(done) != n {
		t.Errorf("%d of %d Work have no WorkDone (%d distinct stored): messages were lost", missing, n, len(done))
	}
	if stored != len(done) {
		t.Errorf("%d WorkDone stored for %d Work: derived ids should have dropped the copies", stored, len(done))
	}
	checkQueue(t, c, n, done)
	if e, ok := streamState(c, faultErrors); !ok || e.Msgs != 0 {
		t.Errorf("the error stream holds %d messages, want 0", e.Msgs)
	}

	// Handler runs: at least once each; the extra runs are the messages
	// in flight at the kill.
	runs := readRuns(t, runsPath)
	total, again := 0, 0
	for _, id := range workIDs(n) {
		if runs[id] == 0 {
			t.Errorf("the handler never ran for %s", id)
		}
		total += runs[id]
		if runs[id] > 1 {
			again++
		}
	}
	duplicates := total - n
	t.Logf("%d Work: sent in %s; killed at %s with %d handled; all handled at %s; "+
		"handler runs %d (%d duplicate runs, %d Work ran more than once, bound %d); WorkDone stored %d",
		n, sent.Round(time.Millisecond), killedAt.Round(time.Millisecond), atKill,
		recovered.Round(time.Millisecond), total, duplicates, again, maxInFlight, stored)
	if duplicates > maxInFlight {
		t.Errorf("%d duplicate handler runs, more than the %d messages a process holds at once", duplicates, maxInFlight)
	}
}

// A message that kills every process that takes it cannot do so forever,
// and takes no healthy message with it. Redelivered without a recorded
// outcome, a message is a suspect and runs alone; one that killed its
// process twice while alone moves to the error stream untried, as
// exhausted-deliveries, and the next process goes on with the others. The
// worker here dies (exit status 3) whenever it handles the poison Work;
// the test starts it again each time. The 20 healthy Work delivered with
// it are all handled, once each, and only the poison one is in the error
// stream.
func TestCrashLoopingMessageMovesToErrorStream(t *testing.T) {
	t.Parallel()
	const (
		n = 20 // healthy Work sent after the poison one
		// Once with the others, then twice alone.
		maxDeaths = 3
	)
	bin := buildWorker(t)
	ns := natstest.RunServer(t)
	url := ns.ClientURL()
	c := connect(t, url)
	runsPath := filepath.Join(t.TempDir(), "runs.log")
	// A short ack wait: the dead process's messages come back after it.
	args := []string{"-url", url, "-runs", runsPath, "-ack-wait", "1s", "-die-on", "poison"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := &workSender{c: c}
	if err := s.send(ctx, append([]string{"poison"}, workIDs(n)...)); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	w := startWorker(t, bin, args...)
	deaths := 0
	waitWithin(t, 60*time.Second, "the poison Work out of the queue", func() bool {
		select {
		case <-w.exited:
			var exit *exec.ExitError
			if !errors.As(w.err, &exit) || exit.ExitCode() != 3 {
				t.Fatalf("the worker exited with %v, want status 3 from the poison Work\n%s", w.err, w.output.String())
			}
			deaths++
			if deaths > maxDeaths {
				t.Fatalf("the poison Work killed the worker %d times; it should have moved to the error stream after %d", deaths, maxDeaths)
			}
			w = startWorker(t, bin, args...)
		default:
		}
		return queueSettled(c)
	})
	settled := time.Since(start)
	w.stop(t)

	// Every Work is handled or in the error stream; the poison one is in
	// the error stream.
	done := storedWorkDone(t, c)
	failed := map[string]string{} // Work id → error kind
	for _, m := range errorStreamMessages(t, c) {
		var work gobustestv1.Work
		if err := proto.Unmarshal(m.Data, &work); err != nil {
			t.Fatalf("decoding a Work in the error stream: %v", err)
		}
		failed[work.GetId()] = m.Header.Get(wire.HeaderErrorKind)
	}
	if kind := failed["poison"]; kind != "exhausted-deliveries" {
		t.Errorf("the poison Work is in the error stream as %q, want exhausted-deliveries", kind)
	}
	if len(failed) != 1 {
		t.Errorf("%d Work in the error stream, want only the poison one: %v", len(failed), failed)
	}
	for _, id := range workIDs(n) {
		if done[id] != 1 || failed[id] != "" {
			t.Errorf("Work %s: %d WorkDone stored, error stream kind %q; want it handled once", id, done[id], failed[id])
		}
	}
	checkQueue(t, c, n+1, done)
	runs := readRuns(t, runsPath)
	t.Logf("the poison Work killed the worker %d times (its handler ran %d times); queue settled after %s; all %d healthy Work handled",
		deaths, runs["poison"], settled.Round(time.Millisecond), n)
}

// buildWorker builds internal/crashtest/worker into a temporary directory,
// with the race detector if the test has it.
func buildWorker(t *testing.T) string {
	t.Helper()
	start := time.Now()
	bin := buildCrashBinary(t, "worker")
	t.Logf("built the worker in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// workerProcess is a running worker.
type workerProcess struct {
	cmd    *exec.Cmd
	output *natstest.LockedBuffer
	exited chan struct{} // closed once the process is gone
	err    error         // its exit status, once exited is closed
}

// startWorker starts the worker; the test's end kills it if it still runs.
func startWorker(t *testing.T, bin string, args ...string) *workerProcess {
	t.Helper()
	w := &workerProcess{cmd: exec.Command(bin, args...), output: &natstest.LockedBuffer{}, exited: make(chan struct{})}
	w.cmd.Stdout = w.output
	w.cmd.Stderr = w.output
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("starting the worker: %v", err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			_ = w.cmd.Process.Kill()
			<-w.exited
		}
	})
	return w
}

// checkRunning fails the test if the worker exited on its own.
func (w *workerProcess) checkRunning(t *testing.T) {
	t.Helper()
	select {
	case <-w.exited:
		t.Fatalf("the worker exited: %v\n%s", w.err, w.output.String())
	default:
	}
}

// kill kills the worker with SIGKILL and waits until it is gone.
func (w *workerProcess) kill(t *testing.T) {
	t.Helper()
	w.checkRunning(t)
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing the worker: %v", err)
	}
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed worker did not exit within 10s")
	}
}

// stop interrupts the worker, which stops its endpoint gracefully, and
// kills it if it has not exited within 15s.
func (w *workerProcess) stop(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil { // not on Windows
		w.kill(t)
		return
	}
	select {
	case <-w.exited:
		if w.err != nil {
			t.Errorf("the worker failed: %v\n%s", w.err, w.output.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("the worker did not stop within 15s of an interrupt\n%s", w.output.String())
		w.kill(t)
	}
}

// readRuns reads the worker's log of handler runs: how many times the
// handler ran for each Work id.
func readRuns(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runs := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		runs[sc.Text()]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return runs
}
