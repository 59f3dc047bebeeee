package gobus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A message delivered again without a recorded outcome is a suspect: its
// last delivery ended in a crash, a hang or a lost connection, and it may
// be what killed the process. A suspect runs alone, with no other handler
// of the endpoint instance in flight, so that a message that kills its
// process takes no healthy message with it. Deliveries that ended with an
// outcome (a failure left for a delayed retry, a message handed back at
// stop) are recorded in the endpoint's delivery records, so their next
// delivery is not a suspect; a suspect that died alone suspectAllowance
// times moves to the error stream untried.
const suspectAllowance = 2

// gate lets many messages run together, or one suspect alone.
type gate struct {
	mu      sync.Mutex
	cond    sync.Cond
	running int
	alone   bool // a suspect runs or waits for the others to finish
}

func newGate() *gate {
	g := &gate{}
	g.cond.L = &g.mu
	return g
}

func (g *gate) enter() {
	g.mu.Lock()
	for g.alone {
		g.cond.Wait()
	}
	g.running++
	g.mu.Unlock()
}

func (g *gate) leave() {
	g.mu.Lock()
	g.running--
	if g.running == 0 {
		g.cond.Broadcast()
	}
	g.mu.Unlock()
}

func (g *gate) enterAlone() {
	g.mu.Lock()
	for g.alone {
		g.cond.Wait()
	}
	g.alone = true
	for g.running > 0 {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

func (g *gate) leaveAlone() {
	g.mu.Lock()
	g.alone = false
	g.cond.Broadcast()
	g.mu.Unlock()
}

// admit lets d through the gate: with the others, or alone as a suspect.
// It returns false when d was settled instead: a suspect that died alone
// too often, or, without delivery records, one delivered too often.
func (ep *Endpoint) admit(ctx context.Context, d *delivery) bool {
	if d.n == 1 {
		ep.gate.enter()
		d.gate = ep.gate
		return true
	}
	rec, known := ep.records.get(ctx, d.metadata())
	if known && rec.explains(d.n) {
		ep.gate.enter()
		d.gate = ep.gate
		return true
	}
	if !known && d.n > 1+d.policy.Delayed+crashAllowance {
		ep.moveToErrors(ctx, d.msg, d.metadata(), &exhaustedError{deliveries: d.n}, d.policy.MaxAttempts())
		return false
	}
	if rec.kind == outcomeSuspect && rec.alone >= suspectAllowance {
		ep.moveToErrors(ctx, d.msg, d.metadata(), &exhaustedError{deliveries: d.n, alone: rec.alone}, d.mc.attempt)
		return false
	}
	ep.gate.enterAlone()
	// Recorded once alone, right before the handler runs: a suspect
	// waiting at the gate is not to blame for a death.
	ep.records.put(ctx, d.metadata(), record{kind: outcomeSuspect, delivery: d.n, alone: rec.alone + 1})
	ep.log.Info("gobus: running a message alone: its last delivery ended without an outcome", d.logAttrs("runs_alone", rec.alone+1)...)
	d.gate, d.alone = ep.gate, true
	return true
}

// release lets the next message through the gate d passed. The worker
// and the watch that gave up on a hung handler may both call it; it acts
// once.
func (d *delivery) release() {
	if d.gate == nil || !d.released.CompareAndSwap(false, true) {
		return
	}
	if d.alone {
		d.gate.leaveAlone()
	} else {
		d.gate.leave()
	}
}

// Outcomes of a delivery, as the records keep them.
const (
	outcomeRetry      = "retry"       // failed; left for a delayed delivery
	outcomeHandedBack = "handed-back" // returned unhandled by a stopping instance
	outcomeSuspect    = "suspect"     // running alone
)

// record is what became of a message's last delivery.
type record struct {
	kind     string
	delivery int
	alone    int // times run alone as a suspect without an outcome
}

// explains reports whether the record accounts for delivery n: the
// delivery before it ended with an outcome.
func (r record) explains(n int) bool {
	return (r.kind == outcomeRetry || r.kind == outcomeHandedBack) && r.delivery == n-1
}

// deliveryRecords keep the outcome of deliveries that will be followed by
// another, in a JetStream KV bucket shared by every instance, keyed by
// endpoint, stream and stream sequence. Only the slow paths write: a
// failure, a stop, a suspect. Entries expire on their own.
type deliveryRecords struct {
	kv       jetstream.KeyValue // nil: records are unavailable
	endpoint string
}

// recordsTTL is how long a delivery record is kept: longer than any
// delayed retry waits.
const recordsTTL = 24 * time.Hour

func (r *deliveryRecords) key(meta *jetstream.MsgMetadata) string {
	return r.endpoint + "." + meta.Stream + "." + strconv.FormatUint(meta.Sequence.Stream, 10)
}

// get returns the record of meta's message; known is false when the
// records cannot be read, and then nothing can be said.
func (r *deliveryRecords) get(ctx context.Context, meta *jetstream.MsgMetadata) (rec record, known bool) {
	if r == nil || r.kv == nil {
		return record{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e, err := r.kv.Get(ctx, r.key(meta))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, true
	}
	if err != nil {
		return record{}, false
	}
	return parseRecord(string(e.Value())), true
}

// outcome records that meta's delivery ended with kind.
func (r *deliveryRecords) outcome(ctx context.Context, meta *jetstream.MsgMetadata, kind string) {
	r.put(ctx, meta, record{kind: kind, delivery: int(meta.NumDelivered)})
}

func (r *deliveryRecords) put(ctx context.Context, meta *jetstream.MsgMetadata, rec record) {
	if r == nil || r.kv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = r.kv.Put(ctx, r.key(meta), []byte(fmt.Sprintf("%s %d %d", rec.kind, rec.delivery, rec.alone)))
}

func parseRecord(v string) record {
	f := strings.Fields(v)
	if len(f) != 3 {
		return record{}
	}
	n, _ := strconv.Atoi(f[1])
	alone, _ := strconv.Atoi(f[2])
	return record{kind: f[0], delivery: n, alone: alone}
}

// handBack returns a message unhandled, for another instance or the next
// start, recording that it was no suspect.
func (ep *Endpoint) handBack(msg jetstream.Msg) {
	if meta, err := msg.Metadata(); err == nil {
		ep.records.outcome(context.Background(), meta, outcomeHandedBack)
	}
	_ = msg.Nak()
}
