package gobus_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

const shippedSubject = "gobus.evt.gobustest.v1.SagaParcelShipped"

// The saga's endpoint process, killed with SIGKILL in the middle of 2,000
// orders and started again, ships every order exactly once: a message
// whose instance was written but whose acknowledgement the kill lost is
// recognised when it comes back, and what its handler sent is sent again
// only under the same ids, which JetStream deduplicates. No completed
// instance keeps any state.
func TestCrashKilledSagaEndpointShipsEveryOrderOnce(t *testing.T) {
	t.Parallel()
	const n = 2000
	bin := buildCrashBinary(t, "sagaworker")
	ns := natstest.RunServer(t)
	url := ns.ClientURL()
	c := connect(t, url)
	args := []string{"-url", url, "-ack-wait", "5s"}
	first := startWorker(t, bin, args...)
	start := time.Now()
	// An endpoint receives the events published once its subscription
	// exists: wait for the worker's.
	waitWithin(t, 60*time.Second, "the worker's subscription", func() bool {
		first.checkRunning(t)
		s, err := c.JetStream().Stream(context.Background(), faultEvents)
		if err != nil {
			return false
		}
		_, err = s.Consumer(context.Background(), "shipper")
		return err == nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Opened and paid, half of the orders each way round, in batches.
	b := c.NewBatch(0)
	for i := range n {
		id := fmt.Sprintf("order-%04d", i)
		opened := &gobustestv1.SagaOrderOpened{OrderId: id}
		paid := &gobustestv1.SagaOrderPaid{OrderId: id}
		var err error
		if i%2 == 0 {
			err = errors.Join(gobustestv1.PublishSagaOrderOpened(ctx, b, opened), gobustestv1.PublishSagaOrderPaid(ctx, b, paid))
		} else {
			err = errors.Join(gobustestv1.PublishSagaOrderPaid(ctx, b, paid), gobustestv1.PublishSagaOrderOpened(ctx, b, opened))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	shipped := func() int {
		return int(subjectCount(t, c, shippedSubject))
	}
	waitWithin(t, 60*time.Second, "a quarter of the orders shipped before the kill", func() bool {
		first.checkRunning(t)
		return shipped() >= n/4
	})
	first.kill(t)
	atKill := shipped()
	if atKill >= n {
		t.Fatalf("all %d shipped before the kill: the test proves nothing; send more", atKill)
	}
	killedAt := time.Since(start)
	second := startWorker(t, bin, args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("killed at %s with %d shipped; %d shipped at %s; worker output:\n%s", killedAt, atKill, shipped(), time.Since(start), second.output.String())
		}
	})
	waitWithin(t, 120*time.Second, "every order shipped after the restart", func() bool {
		second.checkRunning(t)
		return shipped() >= n && eventsSettled(c, "shipper")
	})
	settled := time.Since(start)
	second.stop(t)

	counts := readShipped(t, c)
	for i := range n {
		id := fmt.Sprintf("order-%04d", i)
		if counts[id] != 1 {
			t.Errorf("order %s shipped %d times, want once", id, counts[id])
		}
	}
	live := 0
	for key, rec := range sagaRecords(t, url, "gobustest.v1.ShipmentState") {
		if !rec.Completed || len(rec.State) > 0 || len(rec.Pending) > 0 {
			live++
			if live < 5 {
				t.Errorf("instance %s is left with state %x (completed %v, %d pending)", key, rec.State, rec.Completed, len(rec.Pending))
			}
		}
	}
	if live > 0 {
		t.Errorf("%d instances left with state", live)
	}
	if e, ok := streamState(c, faultErrors); !ok || e.Msgs != 0 {
		t.Errorf("the error stream holds %d messages, want 0", e.Msgs)
	}
	t.Logf("%d orders: killed at %s with %d shipped; all shipped once, settled at %s", n, killedAt.Round(time.Millisecond), atKill, settled.Round(time.Millisecond))
}

// eventsSettled reports whether endpoint's events consumer has nothing
// left to deliver and nothing waiting for an acknowledgement.
func eventsSettled(c *gobus.Client, endpoint string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cons, err := c.JetStream().Consumer(ctx, faultEvents, endpoint)
	if err != nil {
		return false
	}
	info := cons.CachedInfo()
	return info.NumPending == 0 && info.NumAckPending == 0
}

// subjectCount is how many messages the events stream holds on subject.
func subjectCount(t *testing.T, c *gobus.Client, subject string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.JetStream().Stream(ctx, faultEvents)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0
	}
	return info.State.Subjects[subject]
}

// readShipped counts the SagaParcelShipped events per order.
func readShipped(t *testing.T, c *gobus.Client) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := int(subjectCount(t, c, shippedSubject))
	s, err := c.JetStream().Stream(ctx, faultEvents)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{shippedSubject}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for got := 0; got < want; {
		batch, err := cons.Fetch(min(want-got, 1000), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for msg := range batch.Messages() {
			var e gobustestv1.SagaParcelShipped
			if err := proto.Unmarshal(msg.Data(), &e); err != nil {
				t.Fatal(err)
			}
			ids[e.GetOrderId()]++
			k++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			t.Fatal(err)
		}
		if k == 0 {
			t.Fatalf("read %d of %d SagaParcelShipped, then none came", got, want)
		}
		got += k
	}
	return ids
}

// buildCrashBinary builds internal/crashtest/<name> into a temporary
// directory, with the race detector if the test has it.
func buildCrashBinary(t *testing.T, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the crash test builds its process with the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, "github.com/gobusdev/gobus/internal/crashtest/"+name)
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return bin
}
