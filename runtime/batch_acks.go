package gobus

import (
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// batchAcks publishes the messages of a client's batches and hands each
// acknowledgement or failure to the batch that sent the message. It has a
// JetStream context of its own, whose handlers learn every outcome: unlike
// a PubAckFuture's Ok and Err, which each make a channel per message, they
// cost nothing per message. The context's reply subscription is made on
// the first publish, once per client, not per batch.
type batchAcks struct {
	js   jetstream.JetStream
	edge *edgeJetStream // nil unless an edge client: rewrites what it publishes

	// mu guards sent and the outcomes of every batch of the client
	// (Batch.results and Batch.unacked).
	mu   sync.Mutex
	sent map[*nats.Msg]sentSlot // what is in flight, by the message JetStream's handlers get
}

// sentSlot is where the outcome of a message in flight goes: its batch's
// result at index i.
type sentSlot struct {
	b *Batch
	i int
}

// newBatchAcks returns the batch publisher of a client connected by nc;
// edge is the client's edge JetStream, nil unless an edge client.
func newBatchAcks(nc *nats.Conn, edge *edgeJetStream) (*batchAcks, error) {
	a := &batchAcks{edge: edge, sent: map[*nats.Msg]sentSlot{}}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(publishAckTimeout),
		jetstream.WithPublishAsyncAckHandler(a.acked),
		jetstream.WithPublishAsyncErrHandler(a.failed))
	if err != nil {
		return nil, err
	}
	a.js = js
	return a, nil
}

// publish appends a result for the message m, of id and type typ, to b's
// and publishes m without waiting for its acknowledgement, which settles
// that result. On an edge client the message goes where the client's
// JetStream sends it. The caller holds b.mu: if the publish fails, the
// result it appended is still the last.
func (a *batchAcks) publish(b *Batch, m *nats.Msg, id, typ string) error {
	if a.edge != nil {
		m = a.edge.msg(m)
	}
	a.mu.Lock()
	if _, taken := a.sent[m]; taken {
		// The same message is in flight already, dispatched again by a
		// middleware or another batch: a copy tells them apart.
		m = &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
	}
	i := len(b.results)
	b.results = append(b.results, Result{MessageID: id, Type: typ})
	a.sent[m] = sentSlot{b: b, i: i}
	b.unacked++
	a.mu.Unlock()
	_, err := a.js.PublishMsgAsync(m)
	if err != nil {
		a.mu.Lock()
		if _, ok := a.sent[m]; ok {
			delete(a.sent, m)
			b.unacked--
		}
		b.results = b.results[:i]
		a.mu.Unlock()
	}
	return err
}

// acked is the JetStream context's acknowledgement handler.
func (a *batchAcks) acked(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
	a.settle(m, ack != nil && ack.Duplicate, nil)
}

// failed is the JetStream context's error handler: no stream answered,
// the acknowledgement timed out, the connection was lost.
func (a *batchAcks) failed(_ jetstream.JetStream, m *nats.Msg, err error) {
	a.settle(m, false, err)
}

// settle records the outcome of m, if it is still in flight, in its
// batch's result and tells the batch.
func (a *batchAcks) settle(m *nats.Msg, duplicate bool, err error) {
	a.mu.Lock()
	s, ok := a.sent[m]
	if !ok {
		a.mu.Unlock()
		return
	}
	delete(a.sent, m)
	r := &s.b.results[s.i]
	if err != nil {
		r.Err = fmt.Errorf("gobus: sending %s %s: %w", r.Type, r.MessageID, err)
	}
	r.Duplicate = duplicate
	s.b.unacked--
	a.mu.Unlock()
	s.b.wake()
}
