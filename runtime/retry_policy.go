package gobus

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy says how a failing message is retried before it moves to the
// error stream. One policy applies per message type: the endpoint's
// ([WithRetryPolicy]), unless [WithRetryPolicyFor] sets one for the type.
//
// A message is tried at most 1 + Immediate + Delayed times: on its first
// delivery it is tried once and retried Immediate times at once, in
// process; then it is delivered again Delayed times, each after a delay
// that starts at Delay and doubles up to MaxDelay, spread by Jitter. While
// it waits, it holds no concurrency slot. After the last failure it is
// copied to the error stream and terminated.
//
// Some failures skip the retries and go to the error stream at once:
// errors wrapped with [Unrecoverable], panics, [ErrUnimplemented], and
// messages that cannot be handled at all (malformed headers, a type the
// endpoint has no handler for, a body that does not decode, a type on
// another type's subject).
type RetryPolicy struct {
	// Immediate is how many times the handler is retried at once after the
	// first failure.
	Immediate int
	// Delayed is how many delayed deliveries follow.
	Delayed int
	// Delay is the wait before the first delayed delivery.
	Delay time.Duration
	// MaxDelay caps the doubling of Delay.
	MaxDelay time.Duration
	// Jitter spreads each delay by up to this fraction either way (0 to 1),
	// so that messages that failed together do not return together.
	Jitter float64
}

// DefaultRetryPolicy is 3 immediate retries, then 3 delayed deliveries
// after about 1s, 2s and 4s (±10%), capped at 1 minute.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Immediate: 3, Delayed: 3, Delay: time.Second, MaxDelay: time.Minute, Jitter: 0.1}
}

// NoRetries moves a failing message to the error stream after its first
// failure.
func NoRetries() RetryPolicy { return RetryPolicy{} }

func (p RetryPolicy) validate() error {
	switch {
	case p.Immediate < 0 || p.Delayed < 0:
		return invalidf("retry policy %+v: retry counts must not be negative", p)
	case p.Delayed > 0 && (p.Delay <= 0 || p.MaxDelay < p.Delay):
		return invalidf("retry policy %+v: delayed retries need a positive Delay no larger than MaxDelay", p)
	case p.Jitter < 0 || p.Jitter > 1:
		return invalidf("retry policy %+v: Jitter is a fraction from 0 to 1", p)
	}
	return nil
}

// MaxAttempts is how many times a message is tried in all.
func (p RetryPolicy) MaxAttempts() int { return 1 + p.Immediate + p.Delayed }

// delay is the wait before delayed round n (1-based), with jitter.
func (p RetryPolicy) delay(n int) time.Duration {
	d := p.Delay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if p.Jitter > 0 {
		spread := (rand.Float64()*2 - 1) * p.Jitter
		d = time.Duration(float64(d) * (1 + spread))
	}
	return max(d, time.Millisecond)
}

// attempt is the overall attempt number of try i (0-based) within
// delivery number delivery (1-based).
func (p RetryPolicy) attempt(delivery, try int) int {
	if delivery <= 1 {
		return 1 + try
	}
	return 1 + p.Immediate + (delivery - 1)
}
