// Package pump runs handlers over JetStream pull consumers with a
// concurrency limit, in-progress heartbeats and a graceful stop. It knows
// nothing of gobus messages: the handler acks or naks each message itself.
//
// Each source is consumed with jetstream's Consume, whose callback hands
// messages to a fixed pool of workers, one per unit of concurrency: no
// more handlers run than the limit, and no goroutine is started per
// message. While every worker is busy the callback waits, and Consume's
// buffer of prefetched messages fills and stops pulling. With a
// concurrency of 1 there is no pool: the callback that holds the one slot
// runs the handler itself, which is what a hand-off to the one worker
// amounts to, less two goroutine switches per message. A single
// heartbeat goroutine watches the workers and reports messages handled
// longer than the heartbeat interval as in progress.
package pump

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler handles one message and acks, naks or terminates it. w bounds
// how long the message may be worked on; see [Watch].
type Handler func(ctx context.Context, msg jetstream.Msg, w Watch)

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
	// HandBack returns a message unhandled while the pump stops; nil
	// means Nak.
	HandBack func(msg jetstream.Msg)
	// Overrun is called, on a goroutine of its own, with the token a
	// handler gave [Watch.Until] once that deadline has passed while the
	// handler still runs. Heartbeats for the message have stopped by then.
	Overrun func(token any)
	// Tick is how often deadlines and heartbeats are checked; zero means a
	// quarter of Heartbeat.
	Tick time.Duration
	// ConnClosed reports whether the connection under the sources is
	// closed for good. A source is then not reopened, and [Pump.Dead] is
	// closed once no source is left.
	ConnClosed func() bool
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
	// inline holds the one slot while no callback runs a handler on it,
	// with a concurrency of 1 (nil otherwise): see deliverInline.
	inline chan *slot
	done   chan struct{}
	// abandoned is set once Stop gave up waiting for handlers: their
	// messages are no longer reported in progress, so the server delivers
	// them elsewhere within one ack wait.
	abandoned atomic.Bool
	dead      chan struct{} // closed when every source gave up on a closed connection
	lost      atomic.Int32  // sources given up
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
		dead:     make(chan struct{}),
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
	if cfg.Concurrency == 1 {
		p.inline = make(chan *slot, 1)
		p.inline <- &p.slots[0]
	} else {
		for i := range p.slots {
			p.workers.Add(1)
			go p.worker(&p.slots[i])
		}
	}
	for i, src := range cfg.Sources {
		p.loops.Add(1)
		go p.supervise(i, src)
	}
	go p.watch()
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
	if p.inline != nil {
		p.deliverInline(msg)
		return
	}
	select {
	case p.work <- msg:
	case <-p.stopping:
		p.handBack(msg)
	}
}

// deliverInline is deliver with a concurrency of 1: the callback waits
// for the slot, as deliver waits for the one worker, and runs the handler
// itself. Sources share the slot as they share the worker.
func (p *Pump) deliverInline(msg jetstream.Msg) {
	var s *slot
	select {
	case s = <-p.inline:
	case <-p.stopping:
		p.handBack(msg)
		return
	}
	select {
	case <-p.stopping: // both were ready: stopping wins
		p.inline <- s
		p.handBack(msg)
		return
	default:
	}
	p.run(s, msg)
	p.inline <- s
}

func (p *Pump) handBack(msg jetstream.Msg) {
	if p.cfg.HandBack != nil {
		p.cfg.HandBack(msg)
	} else {
		_ = msg.Nak()
	}
}

// run handles msg on slot s.
func (p *Pump) run(s *slot, msg jetstream.Msg) {
	s.begin(msg)
	p.cfg.Handle(p.ctx, msg, Watch{s})
	s.end()
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
		p.run(s, msg)
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
			if p.inline != nil {
				<-p.inline // the callback running a handler, if any, is done
			}
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
	}
	// Those still running ignore their contexts. Their messages are no
	// longer reported in progress, so the server hands them to another
	// instance within one ack wait.
	p.abandoned.Store(true)
	if n := p.running(); n > 0 {
		return fmt.Errorf("pump: %d handlers still running after their contexts were cancelled; their messages will be delivered again", n)
	}
	return nil
}

// running counts the handlers at work.
func (p *Pump) running() int {
	n := 0
	for i := range p.slots {
		s := &p.slots[i]
		s.mu.Lock()
		if s.msg != nil {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// Running counts the handlers at work.
func (p *Pump) Running() int { return p.running() }

// Done is closed once the pump has stopped and every handler returned.
func (p *Pump) Done() <-chan struct{} { return p.done }
