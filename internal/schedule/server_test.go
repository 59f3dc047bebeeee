package schedule_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	"github.com/gobusdev/gobus/internal/schedule"
)

// The server fires a schedule only into its own stream: a schedule whose
// target is another stream's subject is refused. This is why gobus keeps
// each schedule in its target's stream (docs/wire.md, "Scheduled
// messages"); if a later server lifts the limit, this test says so.
func TestServerRefusesAScheduleIntoAnotherStream(t *testing.T) {
	nc, err := nats.Connect(natstest.RunServer(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, cfg := range []jetstream.StreamConfig{
		{Name: "schedules", Subjects: []string{"sched.>"}, AllowMsgSchedules: true},
		{Name: "queue", Subjects: []string{"cmd.>"}, Retention: jetstream.WorkQueuePolicy},
	} {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	msg := &nats.Msg{Subject: "cmd.x", Data: []byte("later")}
	schedule.Wrap(msg, "sched.1", time.Now().Add(time.Minute))
	_, err = js.PublishMsg(ctx, msg)
	if !errors.Is(err, jetstream.ErrScheduleTargetInvalid) {
		t.Fatalf("a schedule into another stream: %v, want ErrScheduleTargetInvalid", err)
	}
}
