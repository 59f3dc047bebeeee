package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Helpers of the fault tests (crash_test.go, cluster_test.go and
// resilience_test.go), which prove that nothing is lost.

// Names of what the fault tests look at, under the default prefix.
const (
	faultQueue           = "gobus_queue_worker"
	faultEvents          = "gobus_events"
	faultErrors          = "gobus_errors"
	faultWorkDoneSubject = "gobus.evt.gobustest.v1.WorkDone"
)

// workIDs returns n Work ids that sort in sending order.
func workIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("w-%05d", i)
	}
	return ids
}

// workMessageID is the message id the fault tests send the Work id with,
// so that sending it again is de-duplicated by JetStream.
func workMessageID(id string) string { return "work-" + id }

// workSender sends Work messages through Batches and sends again, with the
// same message id, every one JetStream did not confirm: a copy JetStream
// stored after all is dropped as a duplicate. This is what a sender must do
// to lose nothing across a server restart or a lost leader.
type workSender struct {
	c *gobus.Client
	// resent counts the messages sent more than once.
	resent atomic.Int64
}

// sendTimeout bounds the wait for one Batch's acknowledgements; a
// publish whose acknowledgement is lost with a server is sent again after
// it.
const sendTimeout = 5 * time.Second

// send sends Work for each id and returns once JetStream has confirmed all
// of them, or ctx is done.
func (s *workSender) send(ctx context.Context, ids []string) error {
	pending := ids
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			s.resent.Add(int64(len(pending)))
			select { // a short pause between tries, not a synchronisation
			case <-ctx.Done():
				return fmt.Errorf("sending %d Work messages: %w", len(pending), ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
		// A window as large as the chunk: Dispatch never waits for an
		// acknowledgement that a dead server will not send.
		b := s.c.NewBatch(len(pending))
		var failed []string
		for _, id := range pending {
			if err := gobustestv1.SendWork(ctx, b, &gobustestv1.Work{Id: id}, gobus.WithMessageID(workMessageID(id))); err != nil {
				failed = append(failed, id)
			}
		}
		waitCtx, cancel := context.WithTimeout(ctx, sendTimeout)
		results, err := b.Wait(waitCtx)
		cancel()
		if err != nil && results == nil {
			if ctx.Err() != nil {
				return fmt.Errorf("sending %d Work messages: %w", len(pending), ctx.Err())
			}
			continue // acknowledgements lost: send the whole chunk again
		}
		for _, r := range results {
			if r.Err != nil {
				failed = append(failed, strings.TrimPrefix(r.MessageID, "work-"))
			}
		}
		pending = failed
	}
	return nil
}

// sendPaced sends Work for ids in chunks, each chunk once fewer than lead
// messages wait to be handled: the sender stays just ahead of the
// endpoint, so that sending still goes on when a test strikes in the
// middle of the stream. It runs in its own goroutine and reports on the
// returned channel.
func (s *workSender) sendPaced(ctx context.Context, ids []string, chunk, lead int, handled func() int) <-chan error {
	done := make(chan error, 1)
	go func() {
		for start := 0; start < len(ids); start += chunk {
			if err := waitUntil(ctx, func() bool { return start-handled() < lead }); err != nil {
				done <- fmt.Errorf("waiting for the endpoint to catch up: %w", err)
				return
			}
			if err := s.send(ctx, ids[start:min(start+chunk, len(ids))]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

// waitUntil polls cond until it holds or ctx is done.
func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// waitWithin polls cond until it holds, failing the test after timeout.
func waitWithin(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// streamState returns a stream's state, or ok false while the stream
// cannot answer (a server restarting, a leader being elected).
func streamState(c *gobus.Client, name string) (state jetstream.StreamState, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, name)
	if err != nil {
		return state, false
	}
	info, err := s.Info(ctx)
	if err != nil {
		return state, false
	}
	return info.State, true
}

// queueSettled reports whether the worker's queue consumer has nothing
// left to deliver and nothing waiting for an acknowledgement, and has
// delivered everything the stream holds: a consumer just created by a
// starting worker can report nothing pending for a moment before it has
// counted the stream's messages.
func queueSettled(c *gobus.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stream, err := c.JetStream().Stream(ctx, faultQueue)
	if err != nil {
		return false
	}
	last := stream.CachedInfo().State.LastSeq
	cons, err := c.JetStream().Consumer(ctx, faultQueue, "worker")
	if err != nil {
		return false
	}
	info := cons.CachedInfo()
	return info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= last
}

// checkQueue checks the worker's queue stream once its consumer has
// settled: it stored each of n Work once (a sender's copies were dropped),
// and anything still in it was handled, its WorkDone in done. After a
// server restart, JetStream may keep a Work its consumer acknowledged
// (below the consumer's ack floor, never delivered again, removed at the
// server's next start); that is reported, not failed.
func checkQueue(t *testing.T, c *gobus.Client, n int, done map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, faultQueue)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		t.Fatal(err)
	}
	st := info.State
	if st.LastSeq != uint64(n) {
		t.Errorf("the queue stored %d Work, want %d: a sender's copies should have been dropped", st.LastSeq, n)
	}
	if st.Msgs == 0 {
		return
	}
	deleted := make(map[uint64]bool, len(st.Deleted))
	for _, seq := range st.Deleted {
		deleted[seq] = true
	}
	for seq := st.FirstSeq; seq <= st.LastSeq; seq++ {
		if deleted[seq] {
			continue
		}
		raw, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var w gobustestv1.Work
		if err := proto.Unmarshal(raw.Data, &w); err != nil {
			t.Fatalf("decoding the Work at sequence %d: %v", seq, err)
		}
		if done[w.GetId()] == 0 {
			t.Errorf("Work %s (sequence %d) is still in the queue and was never handled", w.GetId(), seq)
			continue
		}
		t.Logf("JetStream kept Work %s (sequence %d) in the queue though it was handled and acknowledged", w.GetId(), seq)
	}
}

// storedWorkDone reads every WorkDone event in the events stream and
// returns how many times each Work id is there. A read that fails (a
// cluster still settling after losing a server) starts again, for up to
// 30s.
func storedWorkDone(t *testing.T, c *gobus.Client) map[string]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, err := readWorkDone(c)
		if err == nil {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading the WorkDone events: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readWorkDone reads every WorkDone event in the events stream once.
func readWorkDone(c *gobus.Client) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, faultEvents)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(faultWorkDoneSubject))
	if err != nil {
		return nil, err
	}
	want := int(info.State.Subjects[faultWorkDoneSubject])
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{faultWorkDoneSubject}})
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for got := 0; got < want; {
		batch, err := cons.Fetch(min(want-got, 1000), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for msg := range batch.Messages() {
			var e gobustestv1.WorkDone
			if err := proto.Unmarshal(msg.Data(), &e); err != nil {
				return nil, fmt.Errorf("decoding a WorkDone: %w", err)
			}
			ids[e.GetId()]++
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("read %d of %d WorkDone events, then none came", got, want)
		}
		got += n
	}
	return ids, nil
}
