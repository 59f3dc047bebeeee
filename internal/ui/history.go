package ui

import (
	"sync"
	"time"
)

// sample is one endpoint at one moment, with the handling rate since the
// sample before.
type sample struct {
	At    time.Time
	Stats EndpointStats
	Rate  float64 // settled deliveries per second since the previous sample
}

// history keeps the samples of the last window per endpoint.
type history struct {
	window time.Duration
	mu     sync.Mutex
	byName map[string][]sample
	last   time.Time
	err    error // of the last collection
}

func newHistory(window time.Duration) *history {
	return &history{window: window, byName: map[string][]sample{}}
}

// add records the stats collected at t and drops samples older than the
// window, and endpoints that have gone.
func (h *history) add(t time.Time, rows []EndpointStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Endpoint] = true
		s := sample{At: t, Stats: r}
		if prev := h.byName[r.Endpoint]; len(prev) > 0 {
			p := prev[len(prev)-1]
			if dt := t.Sub(p.At).Seconds(); dt > 0 && r.Settled >= p.Stats.Settled {
				s.Rate = float64(r.Settled-p.Stats.Settled) / dt
			}
		}
		kept := h.byName[r.Endpoint]
		for len(kept) > 0 && t.Sub(kept[0].At) > h.window {
			kept = kept[1:]
		}
		h.byName[r.Endpoint] = append(kept, s)
	}
	for name := range h.byName {
		if !seen[name] {
			delete(h.byName, name)
		}
	}
	h.last, h.err = t, nil
}

func (h *history) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

// snapshot returns a copy of every endpoint's samples, the time of the
// last collection and its error.
func (h *history) snapshot() (map[string][]sample, time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]sample, len(h.byName))
	for k, v := range h.byName {
		out[k] = append([]sample(nil), v...)
	}
	return out, h.last, h.err
}
