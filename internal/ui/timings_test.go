package ui

import (
	"testing"
	"time"
)

func TestTimingsAverageTheLastWindow(t *testing.T) {
	t.Parallel()
	tm := newTimings(time.Minute)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// Processing 100ms and 300ms, critical 1s and 3s, within the minute.
	tm.add("billing", now.Add(-2*time.Second), now.Add(-1100*time.Millisecond), now.Add(-time.Second))
	tm.add("billing", now.Add(-5*time.Second), now.Add(-2300*time.Millisecond), now.Add(-2*time.Second))
	// An old one, which must not count.
	tm.add("billing", now.Add(-3*time.Minute), now.Add(-2*time.Minute), now.Add(-2*time.Minute+time.Second))
	p, c, n := tm.averages("billing", now)
	if n != 2 || p != 200*time.Millisecond || c != 2*time.Second {
		t.Errorf("averages = %s, %s over %d; want 200ms, 2s over 2", p, c, n)
	}
	if _, _, n := tm.averages("sales", now); n != 0 {
		t.Errorf("an endpoint without records has %d", n)
	}
}
