package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
	"github.com/gobusdev/gobus/runtime/outbox"
	"github.com/gobusdev/gobus/runtime/outbox/sqlite"
)

// A client without Capture sends a session's message at once: the session
// says so instead of pretending it waits for the commit.
func TestSessionWithoutCaptureSaysSo(t *testing.T) {
	ns := natstest.RunServer(t)
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(ns.ClientURL()), gobus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob, err := outbox.New(ctx, c, db, sqlite.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close(ctx)
	s, err := ob.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Rollback()
	err = gobustestv1.PublishWorkDone(ctx, s, &gobustestv1.WorkDone{Id: "1"})
	if !errors.Is(err, outbox.ErrNotCaptured) {
		t.Errorf("PublishWorkDone through a session of a client without Capture: %v, want ErrNotCaptured", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	ns := natstest.RunServer(t)
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(ns.ClientURL()), gobus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, opts := range map[string][]outbox.Option{
		"no interval":     {outbox.WithDispatchInterval(0)},
		"no retention":    {outbox.WithRetention(-time.Second)},
		"short retention": {outbox.WithRetention(time.Second)},
	} {
		if _, err := outbox.New(ctx, c, db, sqlite.Dialect, opts...); !errors.Is(err, gobus.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := outbox.New(ctx, c, db, outbox.Dialect{}); !errors.Is(err, gobus.ErrInvalidOption) {
		t.Errorf("no dialect: %v, want ErrInvalidOption", err)
	}
}
