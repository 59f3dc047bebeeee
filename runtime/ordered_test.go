package gobus_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// orderedByKey keys a Work by the part of its id before the '/'.
func orderedByKey() gobus.Option {
	return gobus.OrderBy(func(w *gobustestv1.Work) string { k, _, _ := strings.Cut(w.Id, "/"); return k })
}

// handlingLog records, in the order handlers ran, which message of which
// key each run handled.
type handlingLog struct {
	mu    sync.Mutex
	runs  map[string][]int // key → sequence numbers, in handling order
	total int
	by    map[string]int // instance → runs
}

func newHandlingLog() *handlingLog {
	return &handlingLog{runs: map[string][]int{}, by: map[string]int{}}
}

func (l *handlingLog) record(instance, id string) {
	key, seq, _ := strings.Cut(id, "/")
	var n int
	fmt.Sscan(seq, &n)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[key] = append(l.runs[key], n)
	l.total++
	l.by[instance]++
}

// handledAll reports whether every key's last run is of its last message.
func (l *handlingLog) handledAll(keys, perKey int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.runs) < keys {
		return false
	}
	for _, seqs := range l.runs {
		if seqs[len(seqs)-1] != perKey-1 {
			return false
		}
	}
	return true
}

// check fails t unless every key's messages ran in order, each one after
// the one before it succeeded: a run is of the message after the last one,
// or again of the last one (a redelivery whose ack was lost), never of an
// earlier or a later one.
func (l *handlingLog) check(t *testing.T, keys, perKey int) (redelivered int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, seqs := range l.runs {
		last := -1
		for i, s := range seqs {
			switch s {
			case last + 1:
				last = s
			case last:
				redelivered++
			default:
				t.Fatalf("key %s: run %d handled message %d after message %d: out of order (runs %v)", key, i, s, last, seqs[max(0, i-5):min(len(seqs), i+5)])
			}
		}
		if last != perKey-1 {
			t.Errorf("key %s: handled up to message %d of %d", key, last, perKey)
		}
	}
	if len(l.runs) != keys {
		t.Errorf("%d keys handled, want %d", len(l.runs), keys)
	}
	return redelivered
}

// 10,000 commands over 100 keys, handled by 3 instances of an endpoint
// that orders Work per key; one instance loses its connection in the
// middle of the stream, as a crashed process would. Each key's commands
// are handled in the order they were sent, one at a time, and none is
// lost: the messages the lost instance held come back to the others after
// the ack wait, before any later message of their key.
func TestOrderedPerKeyAcrossInstancesWithOneKilled(t *testing.T) {
	t.Parallel()
	const (
		keys    = 100
		perKey  = 100
		n       = keys * perKey
		ackWait = 2 * time.Second
	)
	url := natstest.RunServer(t).ClientURL()
	log := newHandlingLog()
	var instances []*gobus.Client
	for i := range 3 {
		name := fmt.Sprintf("instance-%d", i)
		var c *gobus.Client
		if i == 0 {
			// The victim: its connection is closed under it, so its
			// client is not closed by the test's cleanup.
			var err error
			c, err = gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), orderedByKey())
			if err != nil {
				t.Fatal(err)
			}
		} else {
			c = connect(t, url, orderedByKey())
		}
		instances = append(instances, c)
		startEndpoint(t, c, "worker", func(ep *gobus.Endpoint) error {
			return gobus.HandleCommand(ep, gobustestv1.WorkRoute, func(_ context.Context, _ *gobus.MessageContext, w *gobustestv1.Work) error {
				log.record(name, w.Id)
				return nil
			})
		}, gobus.WithAckWait(ackWait), gobus.WithConcurrency(8))
	}

	sender := connect(t, url, orderedByKey())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := sender.NewBatch(0)
	for seq := range perKey {
		for k := range keys {
			w := &gobustestv1.Work{Id: fmt.Sprintf("key%03d/%d", k, seq)}
			if err := gobustestv1.SendWork(ctx, b, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatalf("sending: %v", err)
	}

	waitWithin(t, time.Minute, "a quarter of the messages handled", func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return log.total >= n/4
	})
	instances[0].Conn().Close() // the first instance is gone, holding what it held
	log.mu.Lock()
	atKill := log.total
	log.mu.Unlock()
	if atKill >= n {
		t.Fatalf("all %d handled before the kill: the test proves nothing", atKill)
	}

	waitWithin(t, 2*time.Minute, "every key's last message handled", func() bool { return log.handledAll(keys, perKey) })
	redelivered := log.check(t, keys, perKey)
	log.mu.Lock()
	t.Logf("%d runs for %d messages (%d again after the kill at %d); by instance %v", log.total, n, redelivered, atKill, log.by)
	for i := 1; i < 3; i++ {
		if log.by[fmt.Sprintf("instance-%d", i)] == 0 {
			t.Errorf("instance-%d handled nothing: the keys did not spread over the instances", i)
		}
	}
	log.mu.Unlock()
}
