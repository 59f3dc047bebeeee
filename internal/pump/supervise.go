package pump

import (
	"context"
	"time"
)

// reopenDelays are the waits between attempts to reopen a source.
var reopenDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second, 5 * time.Second}

// supervise reopens source i whenever consuming it ends without Stop,
// until the pump stops or the connection is closed for good.
func (p *Pump) supervise(i int, src Source) {
	defer p.loops.Done()
	for {
		p.mu.Lock()
		cc := p.consumes[i]
		p.mu.Unlock()
		select {
		case <-cc.Closed():
		case <-p.stopping:
			// With the server gone, a drained consume may never report
			// closed; Stop does not wait for it.
			return
		}
		if !p.reopen(i, src) {
			return
		}
	}
}

// reopen opens source i again after consuming it ended, retrying with a
// growing delay. It returns false once the pump is stopping, or the
// connection is closed for good: then nothing can be pulled again, and
// retrying would only spin.
func (p *Pump) reopen(i int, src Source) bool {
	for attempt := 0; ; attempt++ {
		if p.connClosed() {
			p.giveUp(src)
			return false
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
			if !p.connClosed() {
				p.cfg.Logger.Warn("gobus: reopening a consumer failed; trying again", "consumer", src.Name, "error", err)
			}
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

func (p *Pump) connClosed() bool { return p.cfg.ConnClosed != nil && p.cfg.ConnClosed() }

// giveUp records that src cannot be pulled from again, and closes Dead
// once no source is left.
func (p *Pump) giveUp(src Source) {
	p.cfg.Logger.Error("gobus: the NATS connection is closed for good; no longer pulling", "consumer", src.Name)
	if int(p.lost.Add(1)) == len(p.cfg.Sources) {
		close(p.dead)
	}
}

// Dead is closed when the pump can pull no more because the connection
// is closed for good. Handlers of messages already taken still finish.
func (p *Pump) Dead() <-chan struct{} { return p.dead }
