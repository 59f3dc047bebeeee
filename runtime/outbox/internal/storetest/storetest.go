// Package storetest is the behaviour every outbox store must have, run by
// each store package's tests against its real database: handlers in a
// transaction, the inbox, sessions, the dispatcher, clean-up, and the
// kill -9 crash tests.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
)

// Store is a store under test: a fresh, empty database for each call of
// Open, in its dialect.
type Store struct {
	Dialect outbox.Dialect
	// Open returns an empty database, closed when the test ends, and the
	// data source name a worker process opens it with.
	Open func(t testing.TB) (*sql.DB, string)
}

// Run runs the behaviour tests on s.
func Run(t *testing.T, s Store) {
	t.Run("HandlerCommitsWritesAndMessages", func(t *testing.T) { testHandler(t, s) })
	t.Run("FailedHandlerRollsBack", func(t *testing.T) { testRollback(t, s) })
	t.Run("ForeignSenderTwiceAppliesOnce", func(t *testing.T) { testForeign(t, s) })
	t.Run("Session", func(t *testing.T) { testSession(t, s) })
	t.Run("DispatcherSendsWhatACrashLeft", func(t *testing.T) { testLeftBehind(t, s) })
	t.Run("CleanRemovesOldRows", func(t *testing.T) { testClean(t, s) })
	t.Run("SchemaAppliedByHand", func(t *testing.T) { testSchemaByHand(t, s) })
	t.Run("HeldBackMessageWaitsForItsTime", func(t *testing.T) { testHeldBack(t, s) })
	t.Run("RetentionShorterThanWindowRefused", func(t *testing.T) { testRetentionShorterThanWindow(t, s) })
}

// EffectsTable is the business table of the tests: one row per handler
// run that committed.
const EffectsTable = "effects"

// CreateEffects creates the business table in db.
func CreateEffects(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+EffectsTable+` (work_id TEXT NOT NULL)`)
	return err
}

// env is one test's bus and database.
type env struct {
	t      *testing.T
	s      Store
	client *gobus.Client
	db     *sql.DB
	ob     *outbox.Outbox
}

func newEnv(t *testing.T, s Store, opts ...outbox.Option) *env {
	t.Helper()
	db, _ := s.Open(t)
	return newEnvOn(t, s, db, nil, opts...)
}

func newEnvOn(t *testing.T, s Store, db *sql.DB, clientOpts []gobus.Option, opts ...outbox.Option) *env {
	t.Helper()
	ns := natstest.RunServer(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	c, err := gobus.Connect(ctx, append([]gobus.Option{gobus.WithURL(ns.ClientURL()), gobus.WithLogger(log), outbox.Capture()}, clientOpts...)...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { closeWithin(t, c.Close) })
	if err := CreateEffects(ctx, db); err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(ctx, c, db, s.Dialect, append([]outbox.Option{outbox.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatalf("outbox.New: %v", err)
	}
	t.Cleanup(func() { closeWithin(t, ob.Close) })
	return &env{t: t, s: s, client: c, db: db, ob: ob}
}

func closeWithin(t testing.TB, f func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// worker is a Work handler that writes an effect and publishes WorkDone
// in the outbox transaction, failing the first try of the ids in fail.
type worker struct {
	gobustestv1.UnimplementedWorkerHandler
	d    outbox.Dialect
	mu   sync.Mutex
	runs map[string]int
	fail map[string]bool
}

func (w *worker) HandleWork(ctx context.Context, mc *gobus.MessageContext, m *gobustestv1.Work) error {
	if err := Effect(ctx, w.d, m.GetId()); err != nil {
		return err
	}
	if err := gobustestv1.PublishWorkDone(ctx, mc, &gobustestv1.WorkDone{Id: m.GetId()}); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.runs[m.GetId()]++
	if w.fail[m.GetId()] && w.runs[m.GetId()] == 1 {
		return errors.New("the first try fails")
	}
	return nil
}

// Effect writes the business row of the Work with id in ctx's outbox
// transaction.
func Effect(ctx context.Context, d outbox.Dialect, id string) error {
	tx := outbox.Tx(ctx)
	if tx == nil {
		return errors.New("no outbox transaction in the handler's context")
	}
	_, err := tx.ExecContext(ctx, d.Bind(`INSERT INTO `+EffectsTable+` (work_id) VALUES (?)`), id)
	return err
}

func (e *env) startWorker(w *worker) {
	e.t.Helper()
	if w.runs == nil {
		w.runs = map[string]int{}
	}
	w.d = e.s.Dialect
	ep, err := gobus.NewEndpoint(e.client, "worker", e.ob.Endpoint(),
		gobus.WithRetryPolicy(gobus.RetryPolicy{Immediate: 2}))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := gobustestv1.RegisterWorkerHandler(ep, w); err != nil {
		e.t.Fatal(err)
	}
	if err := ep.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { closeWithin(e.t, ep.Stop) })
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("work-%04d", i)
	}
	return out
}

func (e *env) send(ids []string) {
	e.t.Helper()
	for _, id := range ids {
		if err := gobustestv1.SendWork(context.Background(), e.client, &gobustestv1.Work{Id: id}, gobus.WithMessageID(id)); err != nil {
			e.t.Fatal(err)
		}
	}
}

// Effects counts the business rows of each Work id in db.
func Effects(ctx context.Context, db *sql.DB) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT work_id, COUNT(*) FROM `+EffectsTable+` GROUP BY work_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// WorkDone counts the WorkDone events in the events stream by id.
func WorkDone(ctx context.Context, js jetstream.JetStream) (map[string]int, error) {
	names := topology.Names{Prefix: topology.DefaultPrefix}
	s, err := js.Stream(ctx, names.EventsStream())
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	if info.State.Msgs == 0 {
		return out, nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var done gobustestv1.WorkDone
		if err := proto.Unmarshal(m.Data, &done); err != nil {
			return nil, err
		}
		out[done.GetId()]++
	}
	return out, nil
}

// WaitFor polls cond until it holds, failing the test after within.
func WaitFor(t *testing.T, within time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: last error %v", within, what, err)
		}
		<-tick.C
	}
}

// Once checks that every id has exactly one effect and one WorkDone, and
// nothing else is there.
func Once(t *testing.T, db *sql.DB, js jetstream.JetStream, want []string) {
	t.Helper()
	ctx := context.Background()
	effects, err := Effects(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	done, err := WorkDone(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, id := range want {
		if effects[id] != 1 || done[id] != 1 {
			if bad < 5 {
				t.Errorf("%s: %d business rows and %d WorkDone in JetStream, want 1 and 1", id, effects[id], done[id])
			}
			bad++
		}
	}
	if bad > 0 || len(effects) != len(want) || len(done) != len(want) {
		t.Errorf("%d of %d ids wrong; %d ids with business rows, %d with WorkDone", bad, len(want), len(effects), len(done))
	}
}

func (e *env) waitDone(n int) {
	e.t.Helper()
	WaitFor(e.t, 30*time.Second, fmt.Sprintf("%d WorkDone", n), func() (bool, error) {
		done, err := WorkDone(context.Background(), e.client.JetStream())
		return len(done) >= n, err
	})
}

func (e *env) counts() outbox.Counts {
	e.t.Helper()
	c, err := e.ob.Counts(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func testHandler(t *testing.T, s Store) {
	e := newEnv(t, s)
	e.startWorker(&worker{})
	want := ids(50)
	e.send(want)
	e.waitDone(len(want))
	WaitFor(t, 10*time.Second, "the outbox drained", func() (bool, error) {
		c, err := e.ob.Counts(context.Background())
		return c.Pending == 0 && c.Inbox == len(want) && c.Dispatched == len(want), err
	})
	Once(t, e.db, e.client.JetStream(), want)
}

func testRollback(t *testing.T, s Store) {
	e := newEnv(t, s)
	w := &worker{fail: map[string]bool{"work-0000": true, "work-0003": true}}
	e.startWorker(w)
	want := ids(5)
	e.send(want)
	e.waitDone(len(want))
	Once(t, e.db, e.client.JetStream(), want)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.runs["work-0000"] != 2 || w.runs["work-0003"] != 2 {
		t.Errorf("runs %v: the failing ones should have run twice", w.runs)
	}
}

// testForeign sends one Work twice the way a CloudEvents SDK does, with a
// ce-id and no Nats-Msg-Id: JetStream stores both, the inbox applies one.
func testForeign(t *testing.T, s Store) {
	e := newEnv(t, s)
	w := &worker{}
	e.startWorker(w)
	names := topology.Names{Prefix: topology.DefaultPrefix}
	body, err := proto.Marshal(&gobustestv1.Work{Id: "foreign"})
	if err != nil {
		t.Fatal(err)
	}
	env := wire.Envelope{ID: "sdk-id-1", Type: gobustestv1.WorkType, Source: "sdk", Time: time.Now(), ContentType: wire.ContentTypeProtobuf, Data: body}
	for range 2 {
		msg := env.Message(names.CommandSubject("worker", gobustestv1.WorkType))
		msg.Header.Del(wire.HeaderMsgID)
		if _, err := e.client.JetStream().PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, 30*time.Second, "both copies handled", func() (bool, error) {
		c, err := e.ob.Counts(context.Background())
		if err != nil || c.Inbox == 0 {
			return false, err
		}
		cons, err := e.client.JetStream().Consumer(context.Background(), names.QueueStream("worker"), names.Consumer("worker"))
		if err != nil {
			return false, err
		}
		info, err := cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= 2, err
	})
	Once(t, e.db, e.client.JetStream(), []string{"foreign"})
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.runs["foreign"] != 1 {
		t.Errorf("the handler ran %d times for one ce-id sent twice, want 1", w.runs["foreign"])
	}
}

func testSession(t *testing.T, s Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	publish := func(id string, commit bool) {
		sess, err := e.ob.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := Effect(sess.Context(ctx), e.s.Dialect, id); err != nil {
			t.Fatal(err)
		}
		if err := gobustestv1.PublishWorkDone(ctx, sess, &gobustestv1.WorkDone{Id: id}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = sess.Commit()
		} else {
			err = sess.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	publish("rolled-back", false)
	publish("committed", true)
	Once(t, e.db, e.client.JetStream(), []string{"committed"})
	if c := e.counts(); c.Pending != 0 || c.Dispatched != 1 {
		t.Errorf("counts %+v, want 0 pending and 1 dispatched", c)
	}
}

// testLeftBehind commits a session's transaction without its dispatch,
// as a process that died right after the commit leaves it.
func testLeftBehind(t *testing.T, s Store) {
	const interval = 50 * time.Millisecond
	e := newEnv(t, s, outbox.WithDispatchInterval(interval))
	ctx := context.Background()
	sess, err := e.ob.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Effect(sess.Context(ctx), e.s.Dialect, "left"); err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.PublishWorkDone(ctx, sess, &gobustestv1.WorkDone{Id: "left"}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Tx().Commit(); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	e.waitDone(1)
	took := time.Since(committed)
	Once(t, e.db, e.client.JetStream(), []string{"left"})
	WaitFor(t, 5*time.Second, "the row marked dispatched", func() (bool, error) {
		c, err := e.ob.Counts(ctx)
		return c.Pending == 0, err
	})
	t.Logf("a message committed and not dispatched was dispatched %s after the commit (interval %s)", took.Round(time.Millisecond), interval)
}

func testClean(t *testing.T, s Store) {
	db, _ := s.Open(t)
	e := newEnvOn(t, s, db, []gobus.Option{gobus.WithDuplicateWindow(shortWindow)},
		outbox.WithRetention(shortWindow), outbox.WithDispatchInterval(20*time.Millisecond))
	e.startWorker(&worker{})
	want := ids(3)
	e.send(want)
	e.waitDone(len(want))
	WaitFor(t, 10*time.Second, "the tables emptied", func() (bool, error) {
		c, err := e.ob.Counts(context.Background())
		return c == (outbox.Counts{}), err
	})
	Once(t, e.db, e.client.JetStream(), want)
}

// testSchemaByHand applies what gobus outbox schema prints, as a DBA
// would; outbox.New then finds the schema at its version.
func testSchemaByHand(t *testing.T, s Store) {
	db, _ := s.Open(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, outbox.Schema(s.Dialect)); err != nil {
		t.Fatalf("applying outbox.Schema: %v", err)
	}
	e := newEnvOn(t, s, db, nil)
	var versions, version int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM `+outbox.VersionTable).Scan(&versions, &version); err != nil {
		t.Fatal(err)
	}
	if versions != 1 || version != outbox.SchemaVersion {
		t.Errorf("%d version rows, version %d; want 1 row of version %d", versions, version, outbox.SchemaVersion)
	}
	sess, err := e.ob.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.PublishWorkDone(ctx, sess, &gobustestv1.WorkDone{Id: "by-hand"}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Commit(); err != nil {
		t.Fatal(err)
	}
	if c := e.counts(); c.Dispatched != 1 {
		t.Errorf("counts %+v, want 1 dispatched", c)
	}
}

// testHeldBack sends a Work held back with gobus.After through a session:
// the outbox stores its schedule, not the Work, so it is handled no sooner
// than its time.
func testHeldBack(t *testing.T, s Store) {
	const after = 500 * time.Millisecond
	e := newEnv(t, s)
	w := &worker{}
	e.startWorker(w)
	ctx := context.Background()
	sess, err := e.ob.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var scheduled string
	sent := time.Now()
	if err := gobustestv1.SendWork(ctx, sess, &gobustestv1.Work{Id: "held"}, gobus.After(after), gobus.ScheduledID(&scheduled)); err != nil {
		t.Fatal(err)
	}
	if err := sess.Commit(); err != nil {
		t.Fatal(err)
	}
	e.waitDone(1)
	if took := time.Since(sent); took < after {
		t.Errorf("the held-back Work was handled %s after it was sent, before its time (%s)", took, after)
	}
	if scheduled == "" {
		t.Error("gobus.ScheduledID got no id")
	}
	WaitFor(t, 5*time.Second, "the Work's row", func() (bool, error) {
		effects, err := Effects(ctx, e.db)
		return effects["held"] == 1, err
	})
}

// shortWindow is the duplicate window and retention of the clean-up tests.
const shortWindow = 100 * time.Millisecond

// testRetentionShorterThanWindow: New refuses an inbox that would forget
// ids before the duplicate window closes.
func testRetentionShorterThanWindow(t *testing.T, s Store) {
	e := newEnv(t, s)
	_, err := outbox.New(context.Background(), e.client, e.db, s.Dialect, outbox.WithRetention(time.Minute))
	if !errors.Is(err, gobus.ErrInvalidOption) {
		t.Errorf("New with a retention of 1m and a duplicate window of 2m: %v, want ErrInvalidOption", err)
	}
}
