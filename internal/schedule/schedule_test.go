package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/schedule"
)

func TestCheckServer(t *testing.T) {
	for _, v := range []string{"2.12.0", "2.12.0-RC.1", "2.15.2", "3.0.0", "v2.13.1"} {
		if err := schedule.CheckServer(v); err != nil {
			t.Errorf("CheckServer(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"2.11.9", "2.10.22", "1.4.1"} {
		err := schedule.CheckServer(v)
		if err == nil || !strings.Contains(err.Error(), "needs nats-server 2.12.0 or later, but the server is version "+v) {
			t.Errorf("CheckServer(%q) = %v, want an error naming the version", v, err)
		}
	}
	if err := schedule.CheckServer(""); err == nil || !strings.Contains(err.Error(), `announces version ""`) {
		t.Errorf(`CheckServer("") = %v`, err)
	}
}

func TestToken(t *testing.T) {
	const uuid = "0f8b6c1e-2d4a-4c3b-9e5f-7a1b2c3d4e5f"
	if got := schedule.Token(uuid); got != uuid {
		t.Errorf("Token(%q) = %q, want the id itself", uuid, got)
	}
	for _, id := range []string{"order 1/timeout", "a.b", "x*", strings.Repeat("a", 65), "ünï"} {
		got := schedule.Token(id)
		if !strings.HasPrefix(got, "_") || strings.ContainsAny(got, ". *>") || got != schedule.Token(id) {
			t.Errorf("Token(%q) = %q, want a stable hash token", id, got)
		}
	}
	if schedule.Token("a.b") == schedule.Token("a.c") {
		t.Error("two ids share a token")
	}
}

func TestWrapAndKey(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 250_000_000, time.FixedZone("x", 3600))
	msg := &nats.Msg{Subject: "gobus.cmd.sales.shop.v1.X", Header: nats.Header{"ce-id": {"1"}}}
	schedule.Wrap(msg, "gobus.sched.cmd.sales.1", at)
	if msg.Subject != "gobus.sched.cmd.sales.1" || msg.Header.Get(schedule.HeaderTarget) != "gobus.cmd.sales.shop.v1.X" ||
		msg.Header.Get(schedule.HeaderSchedule) != "@at 2026-12-01T09:00:00.25Z" || msg.Header.Get("ce-id") != "1" {
		t.Fatalf("wrapped message %+v", msg)
	}
	if k, ok := schedule.Key("gobus", msg.Subject); !ok || k != "cmd.sales.1" {
		t.Fatalf("Key = %q, %v", k, ok)
	}
	if _, ok := schedule.Key("gobus", "gobus.cmd.sales.x"); ok {
		t.Fatal("Key of a command subject")
	}
}
