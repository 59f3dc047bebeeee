package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// flow prints what each endpoint does, one line a step, in a table a
// reader can follow.
type flow struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newFlow(w io.Writer) *flow { return &flow{w: w, start: time.Now()} }

func (f *flow) step(endpoint, message, orderID, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(f.w, "%7.3fs  %-10s  %-14s %-12s %s\n", time.Since(f.start).Seconds(), endpoint, message, orderID, what)
}

func (f *flow) say(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(f.w, format+"\n", args...)
}

func money(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }
