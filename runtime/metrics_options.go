package gobus

import (
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// DefaultQueueDepthInterval is how often an endpoint reads the depth of
// its consumers unless [WithQueueDepthInterval] says otherwise.
const DefaultQueueDepthInterval = 5 * time.Second

// metricsConfig is what the metrics options ask for; its zero value is the
// default: metrics on, through the global MeterProvider, queue depth read
// every DefaultQueueDepthInterval.
type metricsConfig struct {
	off           bool
	provider      metric.MeterProvider // nil: otel.GetMeterProvider()
	depthInterval time.Duration
	depthSet      bool
}

// WithMeterProvider sends the client's metrics, and those of its
// endpoints, to mp instead of the global MeterProvider (otel.SetMeterProvider).
// A nil mp means the global one. gobus uses the OpenTelemetry metric API
// only: without an SDK installed, its instruments do nothing and cost
// next to nothing. docs/observability.md lists them.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return clientOptionFunc(func(c *clientConfig) { c.metrics.provider = mp })
}

// WithoutMetrics turns the client's and its endpoints' metrics off: no
// instruments, no handling middleware for them, no queue depth reads.
func WithoutMetrics() Option {
	return clientOptionFunc(func(c *clientConfig) { c.metrics.off = true })
}

// WithQueueDepthInterval sets how often each started endpoint reads the
// pending and unacknowledged messages of its consumers from the server,
// for the gobus.queue.depth gauge: one request per consumer per interval.
// 0 turns the reads and the gauge off, for accounts where the consumers
// are watched otherwise. The default is [DefaultQueueDepthInterval].
func WithQueueDepthInterval(d time.Duration) Option {
	return clientOptionFunc(func(c *clientConfig) { c.metrics.depthInterval, c.metrics.depthSet = d, true })
}

func (c *metricsConfig) validate() error {
	if c.depthInterval < 0 {
		return invalidf("WithQueueDepthInterval(%s): use a positive interval, or 0 to read no queue depth", c.depthInterval)
	}
	return nil
}

// meterProvider is the provider the metrics go to.
func (c *metricsConfig) meterProvider() metric.MeterProvider {
	if c.provider != nil {
		return c.provider
	}
	return otel.GetMeterProvider()
}

// queueDepthInterval is how often endpoints read their queue depth, 0 for
// never.
func (c *metricsConfig) queueDepthInterval() time.Duration {
	if !c.depthSet {
		return DefaultQueueDepthInterval
	}
	return c.depthInterval
}
