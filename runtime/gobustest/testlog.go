package gobustest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// testLog writes the runtime's warnings and errors to t.Log while the
// test runs, and drops them once the bus is closed: a test's log cannot
// take lines after the test ended.
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func newTestLog(t testing.TB) *testLog { return &testLog{t: t} }

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}

func (l *testLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
