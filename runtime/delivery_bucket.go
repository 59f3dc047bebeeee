package gobus

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// deliveryRecords opens the delivery records of endpoint, creating their
// bucket if the installer is on. Without the bucket, suspects are still
// run alone, but only the delivery count can tell a message that kills
// its process (see crashAllowance); that is logged once.
func (c *Client) deliveryRecords(ctx context.Context, endpoint string) *deliveryRecords {
	c.recordsOnce.Do(func() { c.recordsKV = c.openDeliveries(ctx) })
	return &deliveryRecords{kv: c.recordsKV, endpoint: endpoint}
}

func (c *Client) openDeliveries(ctx context.Context) jetstream.KeyValue {
	name := c.names.DeliveriesBucket()
	kv, err := c.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) && c.cfg.install {
		kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "gobus delivery records: which redelivered messages ended with an outcome",
			History:     1,
			TTL:         recordsTTL,
			Storage:     jetstream.FileStorage,
			Replicas:    c.cfg.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = c.js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		c.cfg.logger.Warn("gobus: no delivery records; a message that kills its process is told from others by its delivery count alone",
			"bucket", name, "error", err)
		return nil
	}
	return kv
}

// removeEndpoint forgets a stopped endpoint, so that a process that starts
// and stops endpoints keeps nothing of them.
func (c *Client) removeEndpoint(ep *Endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.endpoints {
		if e == ep {
			c.endpoints = append(c.endpoints[:i], c.endpoints[i+1:]...)
			return
		}
	}
}
