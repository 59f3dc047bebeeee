package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	"github.com/gobusdev/gobus/internal/outboxhooks"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/topology"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
)

// Crash runs the kill -9 tests on s: for each point of a handling, a
// worker process (internal/crashtest/outboxworker) handling 1,000 Work is
// killed there, and a second one finishes the work. Every Work must have
// exactly one business row and one WorkDone in JetStream, and the inbox
// and the outbox must drain. Then a process committing sessions is killed
// right after a commit: every committed session is sent exactly once.
func Crash(t *testing.T, s Store) {
	bin := buildWorker(t)
	for _, point := range []string{outboxhooks.Written, outboxhooks.Committed, outboxhooks.Dispatched} {
		t.Run("KilledAt_"+point, func(t *testing.T) { testCrash(t, s, bin, point) })
	}
	t.Run("KilledAfterSessionCommit", func(t *testing.T) { testSessionCrash(t, s, bin) })
}

const crashWork = 1000

// crashEnv is a crash test's bus and database, seen from the test.
type crashEnv struct {
	t      *testing.T
	s      Store
	bin    string
	url    string
	dsn    string
	client *gobus.Client
	db     *sql.DB
}

func newCrashEnv(t *testing.T, s Store, bin string) *crashEnv {
	t.Helper()
	ns := natstest.RunServer(t)
	c, err := gobus.Connect(context.Background(), gobus.WithURL(ns.ClientURL()), gobus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeWithin(t, c.Close) })
	db, dsn := s.Open(t)
	if err := CreateEffects(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return &crashEnv{t: t, s: s, bin: bin, url: ns.ClientURL(), dsn: dsn, client: c, db: db}
}

func testCrash(t *testing.T, s Store, bin, point string) {
	e := newCrashEnv(t, s, bin)
	start := time.Now()
	// The first process dies a third of the way through.
	first := e.start("-die-at", point, "-die-after", strconv.Itoa(crashWork/3))
	want := ids(crashWork)
	sendAll(t, e.client, want)
	first.waitKilled(t)
	atKill, _ := WorkDone(context.Background(), e.client.JetStream())
	killedAt := time.Since(start)

	second := e.start()
	WaitFor(t, 45*time.Second, "every Work handled after the restart", func() (bool, error) {
		second.checkRunning(t)
		done, err := WorkDone(context.Background(), e.client.JetStream())
		if err != nil {
			return false, err
		}
		if queue := e.queueState(); len(done) < crashWork || queue != "" {
			return false, fmt.Errorf("%d of %d WorkDone stored; %s", len(done), crashWork, queue)
		}
		return true, nil
	})
	second.stop(t)
	Once(t, e.db, e.client.JetStream(), want)
	e.checkDrained(crashWork)
	t.Logf("%d Work on %s, killed at %q after %s with %d WorkDone stored; all handled exactly once after %s",
		crashWork, s.Dialect.Name, point, killedAt.Round(time.Millisecond), len(atKill), time.Since(start).Round(time.Millisecond))
}

func testSessionCrash(t *testing.T, s Store, bin string) {
	e := newCrashEnv(t, s, bin)
	const sessions, dieAfter = 200, 120
	p := e.start("-sessions", strconv.Itoa(sessions), "-die-at", outboxhooks.SessionCommitted, "-die-after", strconv.Itoa(dieAfter))
	p.waitKilled(t)
	// The committed sessions: the one the kill cut off after its commit
	// included, none after it.
	want := make([]string, dieAfter)
	for i := range want {
		want[i] = fmt.Sprintf("session-%04d", i)
	}
	// The last one waits for a dispatcher: this process's.
	ob, err := outbox.New(context.Background(), e.client, e.db, s.Dialect, outbox.WithDispatchInterval(50*time.Millisecond), outbox.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, ob.Close)
	WaitFor(t, 10*time.Second, "every committed session dispatched", func() (bool, error) {
		c, err := ob.Counts(context.Background())
		return err == nil && c.Pending == 0, err
	})
	Once(t, e.db, e.client.JetStream(), want)
}

// checkDrained checks that no message is left undispatched and, once the
// retention has passed, that clean-up empties both tables.
func (e *crashEnv) checkDrained(handled int) {
	e.t.Helper()
	ctx := context.Background()
	quiet := outbox.WithLogger(slog.New(slog.DiscardHandler))
	ob, err := outbox.New(ctx, e.client, e.db, e.s.Dialect, quiet)
	if err != nil {
		e.t.Fatal(err)
	}
	defer closeWithin(e.t, ob.Close)
	counts, err := ob.Counts(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if counts.Pending != 0 || counts.Inbox != handled || counts.Dispatched != handled {
		e.t.Errorf("after the work: %+v, want 0 pending, %d dispatched, %d in the inbox", counts, handled, handled)
	}
	// A client of another prefix, whose streams have a short duplicate
	// window, so that an outbox may keep its rows as briefly; the tables
	// are the same.
	c, err := gobus.Connect(ctx, gobus.WithURL(e.url), gobus.WithPrefix("drain"), gobus.WithDuplicateWindow(shortWindow), gobus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		e.t.Fatal(err)
	}
	defer closeWithin(e.t, c.Close)
	drain, err := outbox.New(ctx, c, e.db, e.s.Dialect, outbox.WithRetention(shortWindow), quiet)
	if err != nil {
		e.t.Fatal(err)
	}
	defer closeWithin(e.t, drain.Close)
	WaitFor(e.t, 5*time.Second, "clean-up emptying the tables", func() (bool, error) {
		if err := drain.Clean(ctx); err != nil {
			return false, err
		}
		c, err := drain.Counts(ctx)
		return c == (outbox.Counts{}), err
	})
}

// queueState says what the worker's queue still holds, "" once nothing.
func (e *crashEnv) queueState() string {
	names := topology.Names{Prefix: topology.DefaultPrefix}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cons, err := e.client.JetStream().Consumer(ctx, names.QueueStream("worker"), names.Consumer("worker"))
	if err != nil {
		return fmt.Sprintf("the worker's consumer: %v", err)
	}
	info, err := cons.Info(ctx)
	switch {
	case err != nil:
		return fmt.Sprintf("the worker's consumer: %v", err)
	case info.NumPending == 0 && info.NumAckPending == 0:
		return ""
	}
	return fmt.Sprintf("the worker's queue has %d pending, %d acks pending, %d redelivered", info.NumPending, info.NumAckPending, info.NumRedelivered)
}

func sendAll(t *testing.T, c *gobus.Client, ids []string) {
	t.Helper()
	b := c.NewBatch(256)
	ctx := context.Background()
	for _, id := range ids {
		if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: id}, gobus.WithMessageID(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// process is a running worker.
type process struct {
	cmd    *exec.Cmd
	out    *natstest.LockedBuffer
	exited chan struct{}
	err    error
}

func (e *crashEnv) start(args ...string) *process {
	e.t.Helper()
	args = append([]string{"-url", e.url, "-store", e.s.Dialect.Name, "-dsn", e.dsn, "-ack-wait", "3s"}, args...)
	cmd := exec.Command(e.bin, args...)
	out := &natstest.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if e.t.Failed() {
			e.t.Logf("worker %v said:\n%s", args, tail(out.String(), 4000))
		}
	})
	return p
}

// waitKilled waits for the process to kill itself at its point.
func (p *process) waitKilled(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(45 * time.Second):
		t.Fatalf("the worker did not reach its point of death in 45s; its output:\n%s", p.out)
	}
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the worker ended with %v, want killed by SIGKILL; its output:\n%s", p.err, p.out)
	}
}

func (p *process) checkRunning(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("the worker exited: %v; its output:\n%s", p.err, p.out)
	default:
	}
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("the worker did not stop in 15s")
	}
	if p.err != nil {
		t.Errorf("the worker stopped with %v; its output:\n%s", p.err, p.out)
	}
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// buildWorker builds the worker once per test binary, with -race if the
// tests run with it.
func buildWorker(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "outboxworker")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "outboxworker")
		args := []string{"build", "-o", buildBin}
		if raceEnabled() {
			args = append(args, "-race")
		}
		args = append(args, "github.com/gobusdev/gobus/internal/crashtest/outboxworker")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %v: %w\n%s", args, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

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

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
