package gobus_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Streams and a queue consumer made before gobus scheduled messages (no
// schedules allowed, no schedule subjects, a consumer of the whole queue)
// are brought up to date at start: schedules are enabled, the consumer is
// filtered away from them, and a scheduled send works.
func TestInstallerEnablesSchedulesOnOldStreams(t *testing.T) {
	url := newServerURL(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := []jetstream.StreamConfig{
		{Name: "gobus_queue_ticker", Subjects: []string{"gobus.cmd.ticker.>", "gobus.retry.ticker"}, Retention: jetstream.WorkQueuePolicy, Duplicates: 2 * time.Minute},
		{Name: "gobus_events", Subjects: []string{"gobus.evt.>"}, MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute},
	}
	for _, cfg := range old {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateConsumer(ctx, "gobus_queue_ticker", jetstream.ConsumerConfig{Durable: "ticker", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}

	c := connect(t, url)
	tk := newTicks()
	startTicker(t, c, tk)
	for _, name := range []string{"gobus_queue_ticker", "gobus_events"} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if cfg := s.CachedInfo().Config; !cfg.AllowMsgSchedules || !slices.ContainsFunc(cfg.Subjects, func(s string) bool { return len(s) > 12 && s[:12] == "gobus.sched." }) {
			t.Errorf("stream %s: schedules %v, subjects %v", name, cfg.AllowMsgSchedules, cfg.Subjects)
		}
	}
	cons, err := js.Consumer(ctx, "gobus_queue_ticker", "ticker")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gobus.cmd.ticker.>", "gobus.retry.ticker", "gobus.reply.ticker"}
	if got := cons.CachedInfo().Config.FilterSubjects; !slices.Equal(got, want) {
		t.Errorf("queue consumer filters %v, want %v", got, want)
	}
	if err := gobustestv1.SendTick(ctx, c, &gobustestv1.Tick{Id: "upgraded"}, gobus.After(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitTick(t, tk, "upgraded")
}
