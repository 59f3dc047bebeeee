package pump

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// slot is what one worker is handling, for the watch goroutine.
type slot struct {
	mu       sync.Mutex
	msg      jetstream.Msg
	since    time.Time
	beat     time.Time
	deadline time.Time // zero: none
	token    any
	overrun  bool // the deadline passed: no more heartbeats for msg
}

func (s *slot) begin(msg jetstream.Msg) {
	s.mu.Lock()
	s.msg, s.since, s.beat = msg, time.Now(), time.Time{}
	s.deadline, s.token, s.overrun = time.Time{}, nil, false
	s.mu.Unlock()
}

func (s *slot) end() {
	s.mu.Lock()
	s.msg, s.token = nil, nil
	s.mu.Unlock()
}

// Watch bounds how long a handler works on its message.
type Watch struct{ s *slot }

// Until sets the time by which the handler should be done with the
// message, replacing an earlier one. Once it passes while the handler
// runs, the message is no longer reported in progress and [Config.Overrun]
// is called once with token. A zero deadline clears it.
func (w Watch) Until(deadline time.Time, token any) {
	if w.s == nil {
		return
	}
	w.s.mu.Lock()
	// A new deadline is a new try: it is watched, and reported in
	// progress, again.
	w.s.deadline, w.s.token, w.s.overrun = deadline, token, false
	w.s.mu.Unlock()
}

// watch reports every message handled longer than the heartbeat interval
// as in progress, once per interval, and calls Overrun for handlers past
// their deadline, until the pump is done.
func (p *Pump) watch() {
	tick := p.cfg.Tick
	if tick <= 0 {
		tick = p.cfg.Heartbeat / 4
	}
	if tick <= 0 {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-t.C:
			for i := range p.slots {
				p.check(&p.slots[i], now)
			}
		}
	}
}

// check sends slot s's heartbeat if one is due, or calls Overrun if its
// deadline passed. Abandoned handlers get neither.
func (p *Pump) check(s *slot, now time.Time) {
	if p.abandoned.Load() {
		return
	}
	s.mu.Lock()
	msg := s.msg
	var overrun any
	if msg != nil && !s.overrun && !s.deadline.IsZero() && !now.Before(s.deadline) {
		s.overrun, overrun = true, s.token
	}
	interval := p.cfg.Heartbeat
	due := msg != nil && !s.overrun && interval > 0 && now.Sub(s.since) >= interval && now.Sub(s.beat) >= interval
	if due {
		s.beat = now
	}
	s.mu.Unlock()
	if overrun != nil && p.cfg.Overrun != nil {
		go p.cfg.Overrun(overrun)
	}
	if due {
		_ = msg.InProgress()
	}
}
