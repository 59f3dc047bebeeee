package ui

import (
	"sync"
	"time"
)

// timings keeps each endpoint's processing and critical times of the
// messages it handled in the last window, as the audit stream records
// them.
type timings struct {
	window time.Duration
	mu     sync.Mutex
	byName map[string][]timing
}

// timing is one handled message: when it was sent and when its handling
// started and ended.
type timing struct{ sent, started, ended time.Time }

func newTimings(window time.Duration) *timings {
	return &timings{window: window, byName: map[string][]timing{}}
}

// add records one handling by endpoint.
func (t *timings) add(endpoint string, sent, started, ended time.Time) {
	if started.IsZero() || ended.IsZero() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byName[endpoint] = append(t.byName[endpoint], timing{sent, started, ended})
}

// averages returns the mean processing time (ended - started) and
// critical time (ended - sent) of endpoint's handlings that ended within
// the window before now, and how many there were.
func (t *timings) averages(endpoint string, now time.Time) (processing, critical time.Duration, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.byName[endpoint][:0]
	var p, c time.Duration
	var withSent int
	for _, x := range t.byName[endpoint] {
		if now.Sub(x.ended) > t.window {
			continue
		}
		kept = append(kept, x)
		p += x.ended.Sub(x.started)
		if !x.sent.IsZero() {
			c += x.ended.Sub(x.sent)
			withSent++
		}
	}
	t.byName[endpoint] = kept
	if len(kept) == 0 {
		return 0, 0, 0
	}
	processing = p / time.Duration(len(kept))
	if withSent > 0 {
		critical = c / time.Duration(withSent)
	}
	return processing, critical, len(kept)
}
