package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/cli"
	"github.com/gobusdev/gobus/internal/natstest"
)

// syncBuffer is a buffer the command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gobus ui serves the page on loopback, says where and that requests need
// no authentication there, and stops when its context ends.
func TestUIServesOnLoopback(t *testing.T) {
	t.Parallel()
	url := natstest.RunServer(t).ClientURL()
	var out syncBuffer
	cmd := cli.NewCommand(&out, io.Discard)
	cmd.SetArgs([]string{"--server", url, "ui", "--listen", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	banner := regexp.MustCompile(`serving (http://127\.0\.0\.1:\d+/) \(on loopback only; requests need no authentication\)`)
	deadline := time.Now().Add(30 * time.Second)
	for banner.FindStringSubmatch(out.String()) == nil {
		select {
		case err := <-done:
			t.Fatalf("gobus ui ended: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	base := banner.FindStringSubmatch(out.String())[1]
	resp, err := http.Get(base + "endpoints")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<h1>Endpoints</h1>") {
		t.Errorf("GET /endpoints: %d\n%s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("gobus ui after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gobus ui did not stop")
	}
}

// Off loopback gobus ui refuses to start without a token or basic auth,
// before it connects, and says what to set.
func TestUIRefusesToExposeWithoutAuth(t *testing.T) {
	t.Parallel()
	_, err := gobusCLI(t, "nats://127.0.0.1:1", "ui", "--listen", "0.0.0.0:0")
	if err == nil || !strings.Contains(err.Error(), "needs a token or basic auth") {
		t.Errorf("gobus ui --listen 0.0.0.0:0: %v", err)
	}
	if _, err := gobusCLI(t, "nats://127.0.0.1:1", "ui", "--listen", "0.0.0.0:0", "--ui-user", "ops"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("a user without a password: %v", err)
	}
}
