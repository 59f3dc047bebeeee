package gobus_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// With no server option and no GOBUS_URL, Connect starts the embedded
// server with its store under the working directory, says so once, and
// the store keeps what was sent. t.Chdir and t.Setenv rule out t.Parallel.
func TestConnectWithNoOptionsStartsTheEmbeddedServer(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(gobus.EnvURL, "")
	ctx := context.Background()
	var logs natstest.LockedBuffer
	c, err := gobus.Connect(ctx, gobus.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if err := gobustestv1.SendWork(ctx, c, &gobustestv1.Work{Id: "default"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "started an embedded JetStream server"); n != 1 {
		t.Errorf("the embedded default was announced %d times, want once; log:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), gobus.EnvURL) {
		t.Errorf("the log does not say how to use a real server:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, gobus.DefaultStoreDir, "jetstream")); err != nil {
		t.Errorf("no JetStream store under the working directory: %v", err)
	}
}

// With GOBUS_URL set, Connect with no server option uses that server.
func TestConnectWithNoOptionsUsesGOBUS_URL(t *testing.T) {
	url := newServerURL(t)
	t.Setenv(gobus.EnvURL, url)
	t.Chdir(t.TempDir())
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	if got := c.Conn().ConnectedUrl(); got != url {
		t.Errorf("connected to %q, want GOBUS_URL %q", got, url)
	}
	if c.ServerURL() != "" {
		t.Error("an embedded server was started although GOBUS_URL was set")
	}
	if _, err := os.Stat(gobus.DefaultStoreDir); !os.IsNotExist(err) {
		t.Errorf("a default store was created although GOBUS_URL was set: %v", err)
	}
}
