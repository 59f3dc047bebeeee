// Package pump runs handlers over JetStream pull consumers with a
// concurrency limit, in-progress heartbeats and a graceful stop. It knows
// nothing of gobus messages: the handler acks or naks each message itself.
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
// whenever pulling from it stopped without Stop (the consumer was deleted
// or the connection closed), so that the pump recovers on its own.
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
	// Heartbeat is how often a running handler tells the server it is
	// still working (InProgress), so the message is not redelivered
	// elsewhere. Zero turns heartbeats off.
	Heartbeat time.Duration
	// Handle handles each message.
	Handle Handler
	// Logger receives what the pump has to say.
	Logger *slog.Logger
}

// Pump pulls messages and runs Handle on them.
type Pump struct {
	cfg      Config
	sem      chan struct{}
	mu       sync.Mutex // guards iters and, with stopping, their replacement
	iters    []jetstream.MessagesContext
	ctx      context.Context
	cancel   context.CancelFunc
	stopping chan struct{}
	stopOnce sync.Once
	loops    sync.WaitGroup
	inflight sync.WaitGroup
	done     chan struct{}
}

// cancelGrace is how long Stop waits, after its deadline has cancelled the
// handlers' contexts, for them to return.
const cancelGrace = time.Second

// reopenDelays are the waits between attempts to reopen a source.
var reopenDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second, 5 * time.Second}

// Start opens every source and starts pulling. A source that cannot be
// opened fails Start.
func Start(ctx context.Context, cfg Config) (*Pump, error) {
	if cfg.Concurrency < 1 {
		return nil, errors.New("pump: concurrency must be at least 1")
	}
	hctx, cancel := context.WithCancel(context.Background())
	p := &Pump{
		cfg:      cfg,
		sem:      make(chan struct{}, cfg.Concurrency),
		ctx:      hctx,
		cancel:   cancel,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, src := range cfg.Sources {
		it, err := p.open(ctx, src)
		if err != nil {
			for _, started := range p.iters {
				started.Stop()
			}
			cancel()
			return nil, err
		}
		p.iters = append(p.iters, it)
	}
	for i, src := range cfg.Sources {
		p.loops.Add(1)
		go p.loop(i, src, p.iters[i])
	}
	return p, nil
}

func (p *Pump) open(ctx context.Context, src Source) (jetstream.MessagesContext, error) {
	c, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	return c.Messages(jetstream.PullMaxMessages(p.cfg.Concurrency))
}

// loop pulls from source i until the pump stops, reopening the source
// when pulling stops by itself.
func (p *Pump) loop(i int, src Source, it jetstream.MessagesContext) {
	defer p.loops.Done()
	for it != nil {
		p.pull(it, src.Name)
		it = p.reopen(i, src)
	}
}

// pull hands each message of it to a handler until it closes.
func (p *Pump) pull(it jetstream.MessagesContext, name string) {
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			p.cfg.Logger.Warn("gobus: pulling messages was interrupted; resuming", "consumer", name, "error", err)
			continue
		}
		select {
		case p.sem <- struct{}{}:
		case <-p.stopping:
			// Hand prefetched messages back so another instance takes them
			// at once instead of after the ack wait.
			_ = msg.Nak()
			continue
		}
		p.inflight.Add(1)
		go p.run(msg)
	}
}

// reopen opens source i again after pulling from it stopped, retrying
// with a growing delay. It returns nil once the pump is stopping.
func (p *Pump) reopen(i int, src Source) jetstream.MessagesContext {
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			p.cfg.Logger.Warn("gobus: pulling from a consumer stopped; reopening it", "consumer", src.Name)
		}
		delay := reopenDelays[min(attempt, len(reopenDelays)-1)]
		select {
		case <-p.stopping:
			return nil
		case <-time.After(delay):
		}
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		it, err := p.open(ctx, src)
		cancel()
		if err != nil {
			p.cfg.Logger.Warn("gobus: reopening a consumer failed; trying again", "consumer", src.Name, "error", err)
			continue
		}
		p.mu.Lock()
		select {
		case <-p.stopping:
			p.mu.Unlock()
			it.Stop()
			return nil
		default:
		}
		p.iters[i] = it
		p.mu.Unlock()
		p.cfg.Logger.Info("gobus: pulling from the consumer again", "consumer", src.Name)
		return it
	}
}

func (p *Pump) run(msg jetstream.Msg) {
	defer func() {
		<-p.sem
		p.inflight.Done()
	}()
	if p.cfg.Heartbeat > 0 {
		stop := heartbeat(msg, p.cfg.Heartbeat)
		defer stop()
	}
	p.cfg.Handle(p.ctx, msg)
}

// heartbeat sends InProgress every interval until the returned func runs.
func heartbeat(msg jetstream.Msg, interval time.Duration) (stop func()) {
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(interval, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = msg.InProgress()
		t.Reset(interval)
	})
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		t.Stop()
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
		for _, it := range p.iters {
			it.Drain()
		}
		p.mu.Unlock()
		go func() {
			p.loops.Wait()
			p.inflight.Wait()
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
