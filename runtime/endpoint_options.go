package gobus

import "time"

// EndpointOption configures an [Endpoint] in [NewEndpoint].
type EndpointOption interface {
	applyEndpoint(*endpointConfig)
}

type endpointOptionFunc func(*endpointConfig)

func (f endpointOptionFunc) applyEndpoint(c *endpointConfig) { f(c) }

type endpointConfig struct {
	concurrency   int
	ackWait       time.Duration
	maxAckPending int
	retryDelay    time.Duration
	maxRetryDelay time.Duration
}

// DefaultConcurrency is how many handlers an endpoint runs at once unless
// [WithConcurrency] says otherwise.
const DefaultConcurrency = 16

func defaultEndpointConfig() endpointConfig {
	return endpointConfig{
		concurrency:   DefaultConcurrency,
		ackWait:       30 * time.Second,
		maxAckPending: 1000,
		retryDelay:    time.Second,
		maxRetryDelay: time.Minute,
	}
}

// WithConcurrency sets how many handlers the endpoint instance runs at
// once, across its commands and events; it also sizes the prefetch buffer.
// The default is [DefaultConcurrency].
func WithConcurrency(n int) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.concurrency = n })
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

// WithRetryDelay sets the delay before a failed message is delivered
// again: first, doubling on each further failure, up to max. The defaults
// are 1s and 1m.
func WithRetryDelay(first, max time.Duration) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.retryDelay, c.maxRetryDelay = first, max })
}

func (c *endpointConfig) validate() error {
	switch {
	case c.concurrency < 1:
		return invalidf("WithConcurrency(%d): use at least 1", c.concurrency)
	case c.ackWait < time.Second:
		return invalidf("WithAckWait(%s): use at least 1s", c.ackWait)
	case c.maxAckPending < c.concurrency:
		return invalidf("WithMaxAckPending(%d) is below the concurrency %d: instances could not use their slots", c.maxAckPending, c.concurrency)
	case c.retryDelay <= 0 || c.maxRetryDelay < c.retryDelay:
		return invalidf("WithRetryDelay(%s, %s): use a positive first delay no larger than the max", c.retryDelay, c.maxRetryDelay)
	}
	return nil
}
