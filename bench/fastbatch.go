package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The fast-batch workload answers one lever of the performance issue:
// would JetStream's fast batch publish (nats-server 2.12+: the server
// acks every N messages rather than each, flow control in the reply
// subject) make a gobus Batch faster than raw per-message PublishAsync?
// It runs raw nats.go both ways, with gobus's CloudEvents headers and the
// same window, on a stream like a gobus queue stream but with
// allow_batched. A gobus Batch that sent its messages as fast batches
// was built and measured, and did not pay: docs/performance.md says why.
const (
	fastStream  = "FAST"
	fastSubject = "fast.work"
)

// fastBatchOnly prints the rates of raw PublishAsync and raw fast batch
// publish, medians of the rounds.
func (b *bench) fastBatchOnly(ctx context.Context, out io.Writer) error {
	if err := b.createFastStream(ctx); err != nil {
		return err
	}
	var async, fast []float64
	for range b.cfg.rounds {
		r, err := b.rawSendOfTo(ctx, fastStream, func(i int) *nats.Msg { m := b.ceMessage(i); m.Subject = fastSubject; return m })
		if err != nil {
			return fmt.Errorf("publish async: %w", err)
		}
		async = append(async, r)
		r, err = b.fastBatchSend(ctx)
		if err != nil {
			return fmt.Errorf("fast batch: %w", err)
		}
		fast = append(fast, r)
	}
	fmt.Fprintf(out, "raw nats.go, CE headers, window %d, %d messages, %d rounds\n", b.cfg.window, b.cfg.messages, b.cfg.rounds)
	fmt.Fprintf(out, "  PublishMsgAsync         %8.0f/s\n", median(async))
	fmt.Fprintf(out, "  fast batch publish      %8.0f/s\n", median(fast))
	fmt.Fprintf(out, "ratio fast batch/async %.2f\n", median(fast)/median(async))
	return nil
}

// createFastStream creates the stream of the workload: a work queue with gobus's
// queue-stream settings and allow_batched.
func (b *bench) createFastStream(ctx context.Context) error {
	_, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: fastStream, Subjects: []string{"fast.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Replicas: b.cfg.nodes, Duplicates: 2 * time.Minute,
		AllowMsgSchedules: true, AllowRollup: true, AllowBatchPublish: true,
	})
	if err != nil {
		return fmt.Errorf("creating stream %s: %w", fastStream, err)
	}
	return nil
}

// fastReply is what the server answers a fast batch with: flow acks
// ("ack", every msgs messages), gaps and errors, and the final PubAck.
type fastReply struct {
	Type  string `json:"type"`
	Seq   uint64 `json:"seq"`
	Count uint64 `json:"count"`
	Error *struct {
		Description string `json:"description"`
	} `json:"error"`
}

// fastBatchSend publishes the round as one fast batch: at most the window
// of messages beyond the last flow ack, the server acking every half
// window, gaps failing the batch.
func (b *bench) fastBatchSend(ctx context.Context) (float64, error) {
	nc := b.client.Conn()
	n := b.cfg.messages
	flow := max(b.cfg.window/2, 1)
	inbox := nc.NewInbox()
	acked := make(chan uint64, 64)
	failed := make(chan error, 1)
	sub, err := nc.Subscribe(inbox+".>", func(m *nats.Msg) {
		var r fastReply
		switch err := json.Unmarshal(m.Data, &r); {
		case err != nil:
			failed <- err
		case r.Error != nil:
			failed <- fmt.Errorf("%s", r.Error.Description)
		case r.Type == "ack":
			acked <- r.Seq
		case r.Type == "" && r.Count > 0: // the PubAck of the commit
			acked <- r.Count
		default:
			failed <- fmt.Errorf("unexpected reply %s", m.Data)
		}
	})
	if err != nil {
		return 0, err
	}
	defer sub.Unsubscribe()
	batch := nats.NewInbox()[len(nats.InboxPrefix):]
	start := time.Now()
	var confirmed uint64
	wait := func(upTo uint64) error {
		for confirmed < upTo {
			select {
			case seq := <-acked:
				confirmed = max(confirmed, seq)
			case err := <-failed:
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(30 * time.Second):
				return fmt.Errorf("no flow ack after %d of %d messages", confirmed, n)
			}
		}
		return nil
	}
	for i := 1; i <= n; i++ {
		if uint64(i) > confirmed+uint64(b.cfg.window) {
			if err := wait(uint64(i) - uint64(b.cfg.window)); err != nil {
				return 0, err
			}
		}
		op := 1 // append
		switch {
		case i == 1:
			op = 0 // start
		case i == n:
			op = 2 // commit
		}
		m := b.ceMessage(i)
		m.Subject = fastSubject
		m.Reply = inbox + "." + batch + "." + strconv.Itoa(flow) + ".fail." + strconv.Itoa(i) + "." + strconv.Itoa(op) + ".$FI"
		if err := nc.PublishMsg(m); err != nil {
			return 0, err
		}
	}
	if err := wait(uint64(n)); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	return float64(n) / elapsed.Seconds(), b.purge(ctx, fastStream)
}
