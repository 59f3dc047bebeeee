package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

// tally counts the messages a consumer handled, and when: the pump rows
// time the handling from the first message to the last, so that starting
// the consumer (a CreateOrUpdateConsumer for raw, the installer's round
// trips for gobus) is reported on its own row rather than mixed into the
// rate.
type tally struct {
	started      time.Time // when the consumer was asked to start
	count        atomic.Int64
	target       atomic.Int64
	first, last  atomic.Int64 // UnixNano of the first and the target-th message
	all          chan struct{}
	stopConsumer func()
}

func newTally() *tally {
	t := &tally{started: time.Now(), all: make(chan struct{})}
	t.target.Store(-1)
	return t
}

// handled counts one message.
func (t *tally) handled() {
	n := t.count.Add(1)
	if n == 1 {
		t.first.Store(time.Now().UnixNano())
	}
	if n == t.target.Load() {
		t.last.Store(time.Now().UnixNano())
		close(t.all)
	}
}

// consumed is what one consumer round measured.
type consumed struct {
	startup time.Duration // from asking the consumer to start to its first message
	span    time.Duration // from the first message to the n-th
	n       int
}

// rate is messages per second from the first message to the last.
func (r consumed) rate() float64 {
	if r.span <= 0 || r.n < 2 {
		return 0
	}
	return float64(r.n-1) / r.span.Seconds()
}

// wait waits for n messages (at most two minutes), stops the consumer and
// reports the round.
func (t *tally) wait(n int, what string) (consumed, error) {
	defer t.stopConsumer()
	t.target.Store(int64(n))
	if t.count.Load() < int64(n) {
		select {
		case <-t.all:
		case <-time.After(2 * time.Minute):
			return consumed{}, fmt.Errorf("%s handled %d of %d messages", what, t.count.Load(), n)
		}
	} else if t.last.Load() == 0 {
		t.last.Store(time.Now().UnixNano())
	}
	first, last := time.Unix(0, t.first.Load()), time.Unix(0, t.last.Load())
	return consumed{startup: first.Sub(t.started), span: last.Sub(first), n: n}, nil
}

// startups are the pump rounds' times from starting the consumer to its
// first message, raw and gobus.
type startups struct{ raw, gobus []time.Duration }

func (s *startups) rawMedian() time.Duration   { return medianDuration(s.raw) }
func (s *startups) gobusMedian() time.Duration { return medianDuration(s.gobus) }

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs)).Round(100 * time.Microsecond)
}
