package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"

	gobus "github.com/gobusdev/gobus/runtime"
)

// Outbox keeps a database's inbox and outbox for one client: its handling
// middleware ([Outbox.Endpoint]) runs handlers in a transaction, its
// sessions ([Outbox.Begin]) send in one, and its dispatcher sends what a
// crash left behind. Close stops the dispatcher.
type Outbox struct {
	client  *gobus.Client
	db      *sql.DB
	dialect Dialect
	cfg     config

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	// marks are the ids of rows dispatched and not yet marked so; the
	// dispatcher marks them together, one write for many handlings.
	flushMu sync.Mutex // held while marks are written
	markMu  sync.Mutex
	marks   []int64
	marked  chan struct{} // signalled when marks is not empty
}

// Option configures an [Outbox] in [New].
type Option func(*config)

type config struct {
	interval  time.Duration
	retention time.Duration
	inbox     time.Duration
	batch     int
	logger    *slog.Logger
	now       func() time.Time
}

// DefaultRetention is how long dispatched messages and handled incoming
// ids are kept unless [WithRetention] says otherwise. It is longer than
// the streams' default duplicate window (2 minutes), as the inbox's must
// be.
const DefaultRetention = 24 * time.Hour

// DefaultDispatchInterval is how often the dispatcher looks for messages
// that a crash left undispatched unless [WithDispatchInterval] says
// otherwise.
const DefaultDispatchInterval = time.Second

// WithDispatchInterval sets how often the dispatcher looks for messages
// that were committed and not dispatched: a process died between its
// commit and its dispatch. It sends those stored at least one interval
// ago, so such a message goes out within two intervals of the next look
// by any running process. The default is [DefaultDispatchInterval].
func WithDispatchInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithRetention sets how long dispatched messages and handled incoming
// ids are kept. The inbox's retention must be at least the streams'
// duplicate window ([gobus.WithDuplicateWindow]; 2 minutes by default):
// a message whose id is forgotten before the window closes would be
// handled again if its sender re-sent it. [New] fails if it is shorter
// than the events stream's window. The default is [DefaultRetention].
func WithRetention(d time.Duration) Option {
	return func(c *config) { c.retention, c.inbox = d, d }
}

// WithLogger sets where the dispatcher logs failures; the default is the
// client's default, slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// New prepares db's schema for the outbox (creating or migrating it, in
// one transaction) and starts the dispatcher, which sends the messages
// that processes committed and did not dispatch, and removes old rows.
//
// The client must have [Capture] among its dispatch middleware, last.
func New(ctx context.Context, client *gobus.Client, db *sql.DB, d Dialect, opts ...Option) (*Outbox, error) {
	cfg := config{interval: DefaultDispatchInterval, retention: DefaultRetention, inbox: DefaultRetention, batch: 500, logger: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.interval <= 0 || cfg.retention <= 0 {
		return nil, fmt.Errorf("%w: outbox: the dispatch interval and the retention must be positive", gobus.ErrInvalidOption)
	}
	if d.Name == "" || len(d.migrations) == 0 {
		return nil, fmt.Errorf("%w: outbox: no dialect: use outbox.SQLite or outbox.Postgres", gobus.ErrInvalidOption)
	}
	if err := checkRetention(ctx, client, cfg.inbox); err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, d); err != nil {
		return nil, err
	}
	o := &Outbox{client: client, db: db, dialect: d, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{}), marked: make(chan struct{}, 1)}
	go o.run()
	return o, nil
}

// checkRetention fails if the inbox would forget an id before the events
// stream's duplicate window closes: a copy arriving in between would be
// handled again. A stream it cannot read (no installer, no permission) is
// not checked.
func checkRetention(ctx context.Context, client *gobus.Client, inbox time.Duration) error {
	names := topology.Names{Prefix: client.Prefix()}
	s, err := client.JetStream().Stream(ctx, names.EventsStream())
	if err != nil {
		return nil
	}
	if window := s.CachedInfo().Config.Duplicates; inbox < window {
		return fmt.Errorf("%w: outbox: the inbox retention %s is shorter than the duplicate window of stream %s (%s): a copy arriving in between would be handled again; keep the inbox at least as long", gobus.ErrInvalidOption, inbox, names.EventsStream(), window)
	}
	return nil
}

// DB returns the database the outbox writes to.
func (o *Outbox) DB() *sql.DB { return o.db }

// Close stops the dispatcher and waits for it, or for ctx, after it
// marked what this process dispatched. It does not close the database.
// Close is idempotent.
func (o *Outbox) Close(ctx context.Context) error {
	o.stopOnce.Do(func() { close(o.stop) })
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("outbox: waiting for the dispatcher: %w", ctx.Err())
	}
}

// run dispatches what crashes left behind and cleans up, every interval.
func (o *Outbox) run() {
	defer close(o.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-o.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(o.cfg.interval)
	defer t.Stop()
	lastClean := time.Time{}
	for {
		select {
		case <-ctx.Done():
			if err := o.flushMarks(context.Background()); err != nil {
				o.cfg.logger.Warn("outbox: marking dispatched messages", "error", err)
			}
			return
		case <-o.marked:
			if err := o.flushMarks(ctx); err != nil && ctx.Err() == nil {
				o.cfg.logger.Warn("outbox: marking dispatched messages", "error", err)
			}
			continue
		case <-t.C:
		}
		if _, err := o.DispatchPending(ctx); err != nil && ctx.Err() == nil {
			o.cfg.logger.Warn("outbox: dispatching pending messages", "error", err)
		}
		if now := o.cfg.now(); now.Sub(lastClean) >= o.cleanEvery() {
			lastClean = now
			if err := o.Clean(ctx); err != nil && ctx.Err() == nil {
				o.cfg.logger.Warn("outbox: cleaning up", "error", err)
			}
		}
	}
}

// cleanEvery is how often the dispatcher removes old rows: a tenth of the
// retention, at most a minute, at least the interval.
func (o *Outbox) cleanEvery() time.Duration {
	return max(min(o.cfg.retention/10, time.Minute), o.cfg.interval)
}

// DispatchPending sends the messages stored at least one dispatch interval
// ago and not dispatched yet, and returns how many it sent. The dispatcher
// calls it every interval.
func (o *Outbox) DispatchPending(ctx context.Context) (int, error) {
	if err := o.flushMarks(ctx); err != nil {
		return 0, err
	}
	sent := 0
	for {
		rows, err := pendingBefore(ctx, o.db, o.dialect, o.cfg.now().Add(-o.cfg.interval), o.cfg.batch)
		if err != nil || len(rows) == 0 {
			return sent, err
		}
		if err := o.dispatch(ctx, rows); err != nil {
			return sent, err
		}
		if err := o.flushMarks(ctx); err != nil {
			return sent, err
		}
		sent += len(rows)
		if len(rows) < o.cfg.batch {
			return sent, nil
		}
	}
}

// Clean removes the dispatched messages and the handled incoming ids older
// than the retention. The dispatcher calls it regularly.
func (o *Outbox) Clean(ctx context.Context) error {
	now := o.cfg.now()
	return clean(ctx, o.db, o.dialect, now.Add(-o.cfg.retention), now.Add(-o.cfg.inbox))
}

// Counts returns how many rows the outbox's tables hold, once the
// messages this process dispatched are marked so.
func (o *Outbox) Counts(ctx context.Context) (Counts, error) {
	if err := o.flushMarks(ctx); err != nil {
		return Counts{}, err
	}
	return count(ctx, o.db)
}

// mark queues ids to be marked dispatched by the dispatcher. Until then
// they are pending: if the process dies first, they are dispatched again,
// with the same ids, and JetStream drops the copies.
func (o *Outbox) mark(ids []int64) {
	o.markMu.Lock()
	o.marks = append(o.marks, ids...)
	o.markMu.Unlock()
	select {
	case o.marked <- struct{}{}:
	default:
	}
}

// flushMarks marks the queued ids dispatched, in one statement per 500.
func (o *Outbox) flushMarks(ctx context.Context) error {
	o.flushMu.Lock()
	defer o.flushMu.Unlock()
	o.markMu.Lock()
	ids := o.marks
	o.marks = nil
	o.markMu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	if err := markDispatched(ctx, o.db, o.dialect, ids, o.cfg.now()); err != nil {
		o.mark(ids)
		return err
	}
	return nil
}

// dispatch publishes rows, pipelined, waits until JetStream stored them,
// and marks them dispatched. Their ids are in their Nats-Msg-Id headers,
// so a row published twice within the duplicate window is stored once.
func (o *Outbox) dispatch(ctx context.Context, rows []stored) error {
	if len(rows) == 0 {
		return nil
	}
	js := o.client.JetStream()
	futures := make([]jetstream.PubAckFuture, len(rows))
	for i, r := range rows {
		f, err := js.PublishMsgAsync(r.msg)
		if err != nil {
			return fmt.Errorf("outbox: dispatching %s: %w", r.msg.Subject, err)
		}
		futures[i] = f
	}
	ids := make([]int64, 0, len(rows))
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if err := o.direct(rows[i], err); err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("outbox: waiting for JetStream to store %d messages: %w", len(futures)-i, ctx.Err())
		}
		ids = append(ids, rows[i].id)
	}
	o.mark(ids)
	return nil
}

// direct sends a reply that no stream takes, one to a client waiting on
// its own subject, the way the runtime does; other failures stand.
func (o *Outbox) direct(r stored, err error) error {
	if r.kind == gobus.KindCommand || r.kind == gobus.KindEvent || !errors.Is(err, jetstream.ErrNoStreamResponse) {
		return fmt.Errorf("outbox: dispatching %s: %w", r.msg.Subject, err)
	}
	if err := o.client.Conn().PublishMsg(r.msg); err != nil {
		return fmt.Errorf("outbox: replying on %s: %w", r.msg.Subject, err)
	}
	return nil
}
