package gobus

import (
	"fmt"
	"time"
)

// EndpointOption configures an [Endpoint] in [NewEndpoint].
type EndpointOption interface {
	applyEndpoint(*endpointConfig)
}

type endpointOptionFunc func(*endpointConfig)

func (f endpointOptionFunc) applyEndpoint(c *endpointConfig) { f(c) }

type endpointConfig struct {
	concurrency   int
	prefetch      int
	ackWait       time.Duration
	maxAckPending int
	retry         RetryPolicy
	retryFor      map[string]RetryPolicy
	// maxHandling bounds one try of a handler; see WithMaxHandlingTime.
	maxHandling    time.Duration
	maxHandlingFor map[string]time.Duration

	middleware         []Middleware
	dispatchMiddleware []DispatchMiddleware
	audit              bool // see WithAudit

	// completedSagaTTL is how long a completed saga instance's record
	// stays; see WithCompletedSagaTTL.
	completedSagaTTL time.Duration

	// rateLimit is the messages per second across instances; 0: none.
	rateLimit    int
	rateLimitSet bool
}

// DefaultConcurrency is how many handlers an endpoint runs at once unless
// [WithConcurrency] says otherwise.
const DefaultConcurrency = 16

func defaultEndpointConfig() endpointConfig {
	return endpointConfig{
		concurrency:   DefaultConcurrency,
		ackWait:       30 * time.Second,
		maxAckPending: 1000,
		retry:         DefaultRetryPolicy(),
		retryFor:      map[string]RetryPolicy{},
		maxHandling:   DefaultMaxHandlingTime,

		completedSagaTTL: DefaultCompletedSagaTTL,
	}
}

// WithConcurrency sets how many handlers the endpoint instance runs at
// once, across its commands and events; it also sizes the prefetch buffer.
// The default is [DefaultConcurrency].
func WithConcurrency(n int) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.concurrency = n })
}

// WithPrefetch sets how many messages each of the endpoint's consumers
// keeps buffered ahead of its handlers. More hides the round trips to the
// server; but a buffered message ages against the ack wait, so keep
// prefetch / concurrency × the handlers' usual duration well under it.
// The default is 4 × the concurrency.
func WithPrefetch(n int) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.prefetch = n })
}

// WithAckWait sets how long the server waits for a message's ack before it
// delivers the message again. Handlers running longer are kept alive by
// heartbeats at half this interval. The default is 30s.
func WithAckWait(d time.Duration) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.ackWait = d })
}

// WithMaxAckPending caps how many messages the server hands out to all
// instances of the endpoint before they ack. The default is 1000.
func WithMaxAckPending(n int) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.maxAckPending = n })
}

// WithRetryPolicy sets the endpoint's retry policy, which applies to every
// message type without a policy of its own. The default is
// [DefaultRetryPolicy].
func WithRetryPolicy(p RetryPolicy) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.retry = p })
}

// WithRetryPolicyFor sets the retry policy of one message type (a proto
// full name, such as the generated PlaceOrderType constant), overriding the
// endpoint's policy and the contract's.
func WithRetryPolicyFor(messageType string, p RetryPolicy) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.retryFor[messageType] = p })
}

func (c *endpointConfig) validate() error {
	switch {
	case c.concurrency < 1:
		return invalidf("WithConcurrency(%d): use at least 1", c.concurrency)
	case c.prefetch < 0:
		return invalidf("WithPrefetch(%d): use at least 1, or 0 for the default", c.prefetch)
	case c.ackWait < time.Second:
		return invalidf("WithAckWait(%s): use at least 1s", c.ackWait)
	case c.maxAckPending < c.concurrency:
		return invalidf("WithMaxAckPending(%d) is below the concurrency %d: instances could not use their slots", c.maxAckPending, c.concurrency)
	case c.completedSagaTTL < time.Second:
		return invalidf("WithCompletedSagaTTL(%s): use at least 1s, longer than a message takes to be redelivered (the ack wait, %s)", c.completedSagaTTL, c.ackWait)
	case c.rateLimitSet && c.rateLimit < 1:
		return invalidf("WithRateLimit(%d): use at least 1 message per second", c.rateLimit)
	}
	if err := c.validateMaxHandling(); err != nil {
		return err
	}
	if err := checkDeclaredTypes("WithRetryPolicyFor", sortedKeys(c.retryFor)); err != nil {
		return err
	}
	if err := checkDeclaredTypes("WithMaxHandlingTimeFor", sortedKeys(c.maxHandlingFor)); err != nil {
		return err
	}
	if err := c.retry.validate(); err != nil {
		return err
	}
	for typ, p := range c.retryFor {
		if err := p.validate(); err != nil {
			return fmt.Errorf("WithRetryPolicyFor(%q): %w", typ, err)
		}
	}
	return nil
}

// prefetchOrDefault is the configured prefetch, or 4 × the concurrency;
// with a rate limit, 1, so that the backlog waits in the queue.
func (c *endpointConfig) prefetchOrDefault() int {
	switch {
	case c.prefetch > 0:
		return c.prefetch
	case c.rateLimit > 0:
		return 1
	}
	return 4 * c.concurrency
}
