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

// Config configures a Pump.
type Config struct {
	// Consumers are pulled from; they share the concurrency limit.
	Consumers []jetstream.Consumer
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

// Start starts pulling from every consumer.
func Start(cfg Config) (*Pump, error) {
	if cfg.Concurrency < 1 {
		return nil, errors.New("pump: concurrency must be at least 1")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pump{
		cfg:      cfg,
		sem:      make(chan struct{}, cfg.Concurrency),
		ctx:      ctx,
		cancel:   cancel,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, c := range cfg.Consumers {
		it, err := c.Messages(jetstream.PullMaxMessages(cfg.Concurrency))
		if err != nil {
			for _, started := range p.iters {
				started.Stop()
			}
			cancel()
			return nil, err
		}
		p.iters = append(p.iters, it)
	}
	for i, it := range p.iters {
		p.loops.Add(1)
		go p.loop(it, cfg.Consumers[i].CachedInfo().Name)
	}
	return p, nil
}

func (p *Pump) loop(it jetstream.MessagesContext, consumer string) {
	defer p.loops.Done()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			p.cfg.Logger.Warn("gobus: pulling messages was interrupted; resuming", "consumer", consumer, "error", err)
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
		close(p.stopping)
		for _, it := range p.iters {
			it.Drain()
		}
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
