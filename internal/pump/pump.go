// Package pump runs handlers over JetStream pull consumers with a
// concurrency limit, in-progress heartbeats and a graceful stop. It knows
// nothing of gobus messages: the handler acks or naks each message itself.
//
// Each source is consumed with jetstream's Consume, whose callback hands
// messages to a fixed pool of workers, one per unit of concurrency: no
// more handlers run than the limit, and no goroutine is started per
// message. While every worker is busy the callback waits, and Consume's
// buffer of prefetched messages fills and stops pulling. A single
// heartbeat goroutine watches the workers and reports messages handled
// longer than the heartbeat interval as in progress.
package pump

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler handles one message and acks, naks or terminates it.
type Handler func(ctx context.Context, msg jetstream.Msg)

// Source is a consumer to pull from. Open returns it: at start, and again
// whenever consuming it ended without Stop (the consumer was deleted or
// the connection closed), so that the pump recovers on its own.
type Source struct {
	Name string
	Open func(ctx context.Context) (jetstream.Consumer, error)
}

// Config configures a Pump.
type Config struct {
	// Sources are pulled from; they share the concurrency limit.
	Sources []Source
	// Concurrency is how many handlers run at once, at most.
	Concurrency int
	// Prefetch is how many messages each source keeps buffered ahead of
	// the handlers; 0 means Concurrency. Buffered messages age against
	// the consumer's ack wait.
	Prefetch int
	// Heartbeat is how often a running handler's message is reported in
	// progress, so the server does not deliver it elsewhere. Zero turns
	// heartbeats off.
	Heartbeat time.Duration
	// Handle handles each message.
	Handle Handler
	// Logger receives what the pump has to say.
	Logger *slog.Logger
}

// Pump pulls messages and runs Handle on them.
type Pump struct {
	cfg      Config
	work     chan jetstream.Msg
	slots    []slot
	mu       sync.Mutex // guards consumes and, with stopping, their replacement
	consumes []jetstream.ConsumeContext
	ctx      context.Context
	cancel   context.CancelFunc
	stopping chan struct{}
	stopOnce sync.Once
	loops    sync.WaitGroup
	pulled   chan struct{} // closed when no source delivers any more
	workers  sync.WaitGroup
	done     chan struct{}
}

// slot is what one worker is handling, for the heartbeat goroutine.
type slot struct {
	mu    sync.Mutex
	msg   jetstream.Msg
	since time.Time
	beat  time.Time
}

// cancelGrace is how long Stop waits, after its deadline has cancelled the
// handlers' contexts, for them to return.
const cancelGrace = time.Second

// pullExpiry is how long each pull request waits on the server, and
// pullHeartbeat how often the server tells an idle puller it still holds
// the request. When a cluster loses a consumer's leader with its server,
// the puller's requests are gone with it while its connection (to another
// server) is fine: only the missing heartbeats tell, and Consume pulls again
// after two of them. With nats.go's defaults (30s and 15s) an endpoint
// would sit idle for 30s after the election.
const (
	pullExpiry    = 10 * time.Second
	pullHeartbeat = 2 * time.Second
)

// reopenDelays are the waits between attempts to reopen a source.
var reopenDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second, 5 * time.Second}

// Start opens every source and starts pulling. A source that cannot be
// opened fails Start.
func Start(ctx context.Context, cfg Config) (*Pump, error) {
	if cfg.Concurrency < 1 {
		return nil, errors.New("pump: concurrency must be at least 1")
	}
	if cfg.Prefetch < 1 {
		cfg.Prefetch = cfg.Concurrency
	}
	hctx, cancel := context.WithCancel(context.Background())
	p := &Pump{
		cfg:      cfg,
		work:     make(chan jetstream.Msg),
		slots:    make([]slot, cfg.Concurrency),
		ctx:      hctx,
		cancel:   cancel,
		stopping: make(chan struct{}),
		pulled:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, src := range cfg.Sources {
		cc, err := p.open(ctx, src)
		if err != nil {
			for _, started := range p.consumes {
				started.Stop()
			}
			cancel()
			return nil, err
		}
		p.consumes = append(p.consumes, cc)
	}
	for i := range p.slots {
		p.workers.Add(1)
		go p.worker(&p.slots[i])
	}
	for i, src := range cfg.Sources {
		p.loops.Add(1)
		go p.supervise(i, src)
	}
	if cfg.Heartbeat > 0 {
		go p.heartbeats()
	}
	return p, nil
}

// open opens a source's consumer and starts consuming it.
func (p *Pump) open(ctx context.Context, src Source) (jetstream.ConsumeContext, error) {
	c, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	return c.Consume(p.deliver,
		jetstream.PullMaxMessages(p.cfg.Prefetch),
		jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			p.cfg.Logger.Warn("gobus: pulling messages was interrupted; resuming", "consumer", src.Name, "error", err)
		}))
}

// deliver is Consume's callback: it waits for a free worker, or hands the
// message back at once when the pump is stopping, so that another
// instance takes it without waiting for the ack wait.
func (p *Pump) deliver(msg jetstream.Msg) {
	select {
	case p.work <- msg:
	case <-p.stopping:
		_ = msg.Nak()
	}
}

// supervise reopens source i whenever consuming it ends without Stop,
// until the pump stops.
func (p *Pump) supervise(i int, src Source) {
	defer p.loops.Done()
	for {
		p.mu.Lock()
		cc := p.consumes[i]
		p.mu.Unlock()
		<-cc.Closed()
		if !p.reopen(i, src) {
			return
		}
	}
}

// reopen opens source i again after consuming it ended, retrying with a
// growing delay. It returns false once the pump is stopping.
func (p *Pump) reopen(i int, src Source) bool {
	for attempt := 0; ; attempt++ {
		select {
		case <-p.stopping:
			return false
		default:
		}
		if attempt == 0 {
			p.cfg.Logger.Warn("gobus: pulling from a consumer stopped; reopening it", "consumer", src.Name)
		}
		select {
		case <-p.stopping:
			return false
		case <-time.After(reopenDelays[min(attempt, len(reopenDelays)-1)]):
		}
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		cc, err := p.open(ctx, src)
		cancel()
		if err != nil {
			p.cfg.Logger.Warn("gobus: reopening a consumer failed; trying again", "consumer", src.Name, "error", err)
			continue
		}
		p.mu.Lock()
		select {
		case <-p.stopping:
			p.mu.Unlock()
			cc.Stop()
			return false
		default:
		}
		p.consumes[i] = cc
		p.mu.Unlock()
		p.cfg.Logger.Info("gobus: pulling from the consumer again", "consumer", src.Name)
		return true
	}
}

// worker handles messages until no source delivers any more.
func (p *Pump) worker(s *slot) {
	defer p.workers.Done()
	for {
		var msg jetstream.Msg
		select {
		case msg = <-p.work:
		case <-p.pulled:
			return
		}
		s.mu.Lock()
		s.msg, s.since, s.beat = msg, time.Now(), time.Time{}
		s.mu.Unlock()
		p.cfg.Handle(p.ctx, msg)
		s.mu.Lock()
		s.msg = nil
		s.mu.Unlock()
	}
}

// heartbeats reports every message handled longer than the heartbeat
// interval as in progress, once per interval, until the pump is done.
func (p *Pump) heartbeats() {
	tick := time.NewTicker(p.cfg.Heartbeat / 4)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			for i := range p.slots {
				p.slots[i].beatIfDue(now, p.cfg.Heartbeat)
			}
		}
	}
}

func (s *slot) beatIfDue(now time.Time, interval time.Duration) {
	s.mu.Lock()
	msg := s.msg
	due := msg != nil && now.Sub(s.since) >= interval && now.Sub(s.beat) >= interval
	if due {
		s.beat = now
	}
	s.mu.Unlock()
	if due {
		_ = msg.InProgress()
	}
}

// Stop stops pulling, hands prefetched messages back, and waits for running
// handlers until ctx is done; then it cancels their contexts and waits a
// moment more. Handlers that still run are left to finish on their own.
// Stop is safe to call more than once and from several goroutines.
func (p *Pump) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		close(p.stopping)
		for _, cc := range p.consumes {
			cc.Drain()
		}
		p.mu.Unlock()
		go func() {
			p.loops.Wait()
			close(p.pulled)
			p.workers.Wait()
			p.cancel()
			close(p.done)
		}()
	})
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	p.cancel()
	select {
	case <-p.done:
		return nil
	case <-time.After(cancelGrace):
		return errors.New("pump: handlers still running after their contexts were cancelled")
	}
}

// Done is closed once the pump has stopped and every handler returned.
func (p *Pump) Done() <-chan struct{} { return p.done }
