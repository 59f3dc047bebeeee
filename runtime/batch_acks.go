package gobus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// batchAcks publishes the messages of a client's batches and hands each
// acknowledgement or failure to the batch that sent the message.
//
// It speaks JetStream's publish protocol itself rather than through
// jetstream's PublishMsgAsync, which per message makes a future, a timer
// and a copy of the message, and decodes the acknowledgement with
// encoding/json: together the largest part of a batched send's CPU on
// the client. Here a message in flight is an entry in a map, keyed by the
// last token of its reply subject; one timer for the whole client bounds
// the wait for acknowledgements; an acknowledgement of the usual form is
// read without encoding/json, anything else with it. It keeps what
// PublishMsgAsync does: a "no responders" answer is retried twice, 250 ms
// apart, before the message fails with [jetstream.ErrNoStreamResponse];
// an acknowledgement not come within publishAckTimeout fails it with
// [jetstream.ErrAsyncPublishTimeout]; a connection lost or closed fails
// what is in flight with [nats.ErrDisconnected], as no acknowledgement
// can come for it any more. The reply subscription is made on the first
// publish, once per client.
type batchAcks struct {
	nc      *nats.Conn
	edge    *edgeJetStream // nil unless an edge client: rewrites what it publishes
	timeout time.Duration  // publishAckTimeout; shorter in tests

	// mu guards what follows and the outcomes of every batch of the
	// client (Batch.results and Batch.unacked).
	mu       sync.Mutex
	prefix   string // the reply subjects' prefix, "" until the first publish
	sub      *nats.Subscription
	status   chan nats.Status // the connection's RECONNECTING and CLOSED
	next     uint64           // the last reply token given
	sent     map[uint64]*inFlight
	timer    *time.Timer // fires when the oldest message in flight times out
	timerSet bool
	closed   bool
}

// inFlight is one message published and not yet acknowledged: where its
// outcome goes (its batch's result at index i) and what a retry needs.
type inFlight struct {
	b        *Batch
	i        int
	msg      *nats.Msg // as published, reply subject set
	deadline time.Time
	retries  int
}

// noResponderRetries and noResponderWait are how often and how far apart
// a message JetStream has no stream for is published again, as
// PublishMsgAsync does: a stream being created or electing its leader
// answers in a moment.
const (
	noResponderRetries = 2
	noResponderWait    = 250 * time.Millisecond
)

// newBatchAcks returns the batch publisher of a client connected by nc;
// edge is the client's edge JetStream, nil unless an edge client.
func newBatchAcks(nc *nats.Conn, edge *edgeJetStream) *batchAcks {
	return &batchAcks{nc: nc, edge: edge, timeout: publishAckTimeout, sent: map[uint64]*inFlight{}}
}

// publish appends a result for the message m, of id and type typ, to b's
// and publishes m without waiting for its acknowledgement, which settles
// that result. On an edge client the message goes where the client's
// JetStream sends it. The caller holds b.mu: if the publish fails, the
// result it appended is still the last.
func (a *batchAcks) publish(b *Batch, m *nats.Msg, id, typ string) error {
	if m.Reply != "" {
		return jetstream.ErrAsyncPublishReplySubjectSet
	}
	if a.edge != nil {
		m = a.edge.msg(m)
	}
	a.mu.Lock()
	if err := a.open(); err != nil {
		a.mu.Unlock()
		return err
	}
	a.next++
	token := a.next
	// A message of its own: m may be dispatched again, by a middleware or
	// another batch, while this one is in flight.
	pub := &nats.Msg{Subject: m.Subject, Reply: a.prefix + strconv.FormatUint(token, 36), Header: m.Header, Data: m.Data}
	i := len(b.results)
	b.results = append(b.results, Result{MessageID: id, Type: typ})
	a.sent[token] = &inFlight{b: b, i: i, msg: pub, deadline: time.Now().Add(a.timeout)}
	b.unacked++
	a.armTimer()
	a.mu.Unlock()
	err := a.nc.PublishMsg(pub)
	if err != nil {
		a.mu.Lock()
		if _, ok := a.sent[token]; ok {
			delete(a.sent, token)
			b.unacked--
		}
		b.results = b.results[:i]
		a.mu.Unlock()
	}
	return err
}

// open subscribes to the replies and watches the connection, on the first
// publish. a.mu is held.
func (a *batchAcks) open() error {
	if a.closed {
		return nats.ErrConnectionClosed
	}
	if a.prefix != "" {
		return nil
	}
	prefix := a.nc.NewInbox() + "."
	sub, err := a.nc.Subscribe(prefix+"*", a.reply)
	if err != nil {
		return fmt.Errorf("gobus: subscribing to the batches' acknowledgements: %w", err)
	}
	a.prefix, a.sub = prefix, sub
	a.status = a.nc.StatusChanged(nats.RECONNECTING, nats.CLOSED)
	a.timer = time.AfterFunc(time.Hour, a.expire)
	a.timer.Stop()
	go a.watch(a.status)
	return nil
}

// reply handles what JetStream answers a publish.
func (a *batchAcks) reply(m *nats.Msg) {
	token, err := strconv.ParseUint(m.Subject[len(a.prefix):], 36, 64)
	if err != nil {
		return
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		a.noResponders(token)
		return
	}
	duplicate, err := readPubAck(m.Data)
	a.settle(token, duplicate, err)
}

// noResponders publishes the message of token again after a moment, or
// fails it once its retries are spent.
func (a *batchAcks) noResponders(token uint64) {
	a.mu.Lock()
	f, ok := a.sent[token]
	if !ok || f.retries >= noResponderRetries {
		a.mu.Unlock()
		a.settle(token, false, jetstream.ErrNoStreamResponse)
		return
	}
	f.retries++
	f.deadline = time.Now().Add(noResponderWait + a.timeout)
	a.mu.Unlock()
	time.AfterFunc(noResponderWait, func() {
		a.mu.Lock()
		f, ok := a.sent[token]
		a.mu.Unlock()
		if !ok {
			return
		}
		if err := a.nc.PublishMsg(f.msg); err != nil {
			a.settle(token, false, err)
		}
	})
}

// settle records the outcome of the message of token, if it is still in
// flight, in its batch's result and tells the batch.
func (a *batchAcks) settle(token uint64, duplicate bool, err error) {
	a.mu.Lock()
	f, ok := a.sent[token]
	if !ok {
		a.mu.Unlock()
		return
	}
	delete(a.sent, token)
	f.b.settle(f.i, duplicate, err)
	a.mu.Unlock()
	f.b.wake()
}

// settle records one outcome in b's result i; the batch publisher's mu is
// held.
func (b *Batch) settle(i int, duplicate bool, err error) {
	r := &b.results[i]
	if err != nil {
		r.Err = fmt.Errorf("gobus: sending %s %s: %w", r.Type, r.MessageID, err)
	}
	r.Duplicate = duplicate
	b.unacked--
}

// failAll fails every message in flight with err.
func (a *batchAcks) failAll(err error) {
	a.mu.Lock()
	var woken []*Batch
	for token, f := range a.sent {
		delete(a.sent, token)
		f.b.settle(f.i, false, err)
		woken = append(woken, f.b)
	}
	a.mu.Unlock()
	for _, b := range woken {
		b.wake()
	}
}

// watch fails what is in flight whenever the connection is lost or
// closed: the acknowledgements, if any were sent, are lost with it.
func (a *batchAcks) watch(status <-chan nats.Status) {
	for s := range status {
		a.failAll(nats.ErrDisconnected)
		if s == nats.CLOSED {
			return
		}
	}
}

// armTimer makes the timer fire when the oldest message in flight is due,
// if it is not set already. a.mu is held.
func (a *batchAcks) armTimer() {
	if a.timerSet || len(a.sent) == 0 {
		return
	}
	earliest := time.Time{}
	for _, f := range a.sent {
		if earliest.IsZero() || f.deadline.Before(earliest) {
			earliest = f.deadline
		}
	}
	a.timerSet = true
	a.timer.Reset(time.Until(earliest))
}

// expire fails the messages whose acknowledgement is overdue and sets the
// timer for the next.
func (a *batchAcks) expire() {
	now := time.Now()
	a.mu.Lock()
	a.timerSet = false
	var woken []*Batch
	for token, f := range a.sent {
		if !f.deadline.After(now) {
			delete(a.sent, token)
			f.b.settle(f.i, false, jetstream.ErrAsyncPublishTimeout)
			woken = append(woken, f.b)
		}
	}
	a.armTimer()
	a.mu.Unlock()
	for _, b := range woken {
		b.wake()
	}
}

// close stops the publisher once its client is done: what is still in
// flight fails.
func (a *batchAcks) close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	sub, status, timer := a.sub, a.status, a.timer
	a.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
		a.nc.RemoveStatusListener(status)
		timer.Stop()
	}
	a.failAll(nats.ErrConnectionClosed)
}

// readPubAck reads JetStream's answer to a publish: whether it was a
// duplicate, or the error it reports. The usual acknowledgement,
// {"stream":"NAME","seq":N} with perhaps a domain and "duplicate": true,
// is read as it is; anything else is decoded as JSON.
func readPubAck(data []byte) (duplicate bool, err error) {
	if ok, dup := readPlainPubAck(data); ok {
		return dup, nil
	}
	var ack struct {
		Error     *jetstream.APIError `json:"error"`
		Stream    string              `json:"stream"`
		Duplicate bool                `json:"duplicate"`
	}
	if err := json.Unmarshal(data, &ack); err != nil {
		return false, jetstream.ErrInvalidJSAck
	}
	if ack.Error != nil {
		return false, ack.Error
	}
	if ack.Stream == "" {
		return false, jetstream.ErrInvalidJSAck
	}
	return ack.Duplicate, nil
}

// readPlainPubAck reads an acknowledgement of the usual form without a
// JSON decoder: an object that starts with a non-empty "stream", holds no
// escapes (so that every quote delimits a string and `"duplicate":` can
// only be that key), and has no "error". ok is false for anything else.
func readPlainPubAck(data []byte) (ok, duplicate bool) {
	const start = `{"stream":"`
	if len(data) <= len(start) || string(data[:len(start)]) != start || data[len(start)] == '"' || data[len(data)-1] != '}' {
		return false, false
	}
	for _, c := range data {
		if c == '\\' {
			return false, false
		}
	}
	if bytes.Contains(data, []byte(`"error"`)) {
		return false, false
	}
	key := []byte(`"duplicate":`)
	at := bytes.Index(data, key)
	if at < 0 {
		return true, false
	}
	rest := bytes.TrimLeft(data[at+len(key):], " ")
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		return true, true
	case bytes.HasPrefix(rest, []byte("false")):
		return true, false
	}
	return false, false
}
