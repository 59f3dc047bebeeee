package gobus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/pump"
)

// WithRateLimit caps how many messages the endpoint handles per second,
// n, across all its instances, so that a fragile downstream API is not
// overrun. The instances share a counter per second in a JetStream
// key-value bucket (docs/wire.md): a handler runs only once its instance
// has taken one of the second's n slots, and an instance that finds the
// second full waits for the next. A rate-limited endpoint pulls one
// message at a time per consumer, so its backlog waits in the queue, not
// in memory: each instance holds at most its concurrency plus one message
// per consumer. Immediate retries of a message do not take another slot.
// See docs/guarantees.md for what holds when clocks differ.
func WithRateLimit(n int) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.rateLimit = n; c.rateLimitSet = true })
}

// rateWindow is the span of one counter: the limit holds per second of
// the instances' clocks.
const rateWindow = time.Second

// rateLimiter takes the slots of one endpoint's rate limit.
type rateLimiter struct {
	kv       jetstream.KeyValue
	endpoint string
	n        uint64
}

// openRateLimiter opens the rate limits bucket, creating it if the
// installer is on.
func (ep *Endpoint) openRateLimiter(ctx context.Context) (*rateLimiter, error) {
	if ep.cfg.rateLimit == 0 {
		return nil, nil
	}
	c := ep.client
	name := c.names.Prefix + "_ratelimits"
	kv, err := c.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) && c.cfg.install {
		kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "gobus rate limits: messages handled per endpoint and second",
			History:     1,
			TTL:         time.Minute,
			Storage:     jetstream.MemoryStorage,
			Replicas:    c.cfg.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = c.js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening the rate limits bucket %s: %w", name, err)
	}
	return &rateLimiter{kv: kv, endpoint: ep.name, n: uint64(ep.cfg.rateLimit)}, nil
}

// take waits until one of the current second's slots is this instance's,
// or ctx is done.
func (l *rateLimiter) take(ctx context.Context) error {
	for {
		now := time.Now()
		window := now.Truncate(rateWindow)
		key := l.endpoint + "." + strconv.FormatInt(window.Unix(), 10)
		taken, err := l.tryTake(ctx, key)
		if err != nil {
			return err
		}
		if taken {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(window.Add(rateWindow))):
		}
	}
}

// tryTake takes a slot of the window key counts, retrying when another
// instance took one in between; false means the window is full.
func (l *rateLimiter) tryTake(ctx context.Context, key string) (bool, error) {
	for {
		entry, err := l.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err := l.kv.Create(ctx, key, []byte("1")); err == nil {
				return true, nil
			} else if !errors.Is(err, jetstream.ErrKeyExists) {
				return false, err
			}
			continue
		}
		if err != nil {
			return false, err
		}
		count, err := strconv.ParseUint(string(entry.Value()), 10, 64)
		if err != nil {
			return false, fmt.Errorf("rate limit counter %s holds %q, not a count", key, entry.Value())
		}
		if count >= l.n {
			return false, nil
		}
		_, err = l.kv.Update(ctx, key, []byte(strconv.FormatUint(count+1, 10)), entry.Revision())
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return false, err
		}
	}
}

// rateLimitRetry is how long a message waits in the queue when its
// instance could not reach the rate limits bucket.
const rateLimitRetry = time.Second

// rateLimited is handle behind the endpoint's rate limit: each message
// waits for a slot first. A message whose wait ends with the endpoint
// stopping, or that cannot reach the bucket, goes back to the queue
// unhandled.
func (ep *Endpoint) rateLimited(l *rateLimiter, handle pump.Handler) pump.Handler {
	if l == nil {
		return handle
	}
	return func(ctx context.Context, msg jetstream.Msg, w pump.Watch) {
		if err := l.take(ctx); err != nil {
			if ctx.Err() == nil {
				ep.log.Warn("gobus: could not take a slot of the rate limit; the message goes back to the queue", "error", err)
			}
			_ = msg.NakWithDelay(rateLimitRetry)
			return
		}
		handle(ctx, msg, w)
	}
}
