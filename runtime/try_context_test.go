package gobus

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestTryContextAsStandard checks that a try context answers as
// context.WithCancelCause's would, whether or not it made a standard
// context before it ended.
func TestTryContextAsStandard(t *testing.T) {
	te := &TimeoutError{Limit: time.Second}
	parentCause := errors.New("parent stopped")
	type key struct{}
	cases := []struct {
		name      string
		done      bool  // call Done before the end
		endWith   error // the try's cause, if it ends
		end       bool
		parentEnd bool // the parent ends, before the try does
		wantErr   error
		wantCause error
	}{
		{name: "running", wantErr: nil, wantCause: nil},
		{name: "running, waited on", done: true},
		{name: "returned", end: true, wantErr: context.Canceled, wantCause: context.Canceled},
		{name: "returned, waited on", done: true, end: true, wantErr: context.Canceled, wantCause: context.Canceled},
		{name: "timed out", end: true, endWith: te, wantErr: context.Canceled, wantCause: te},
		{name: "timed out, waited on", done: true, end: true, endWith: te, wantErr: context.Canceled, wantCause: te},
		{name: "parent first", parentEnd: true, end: true, endWith: te, wantErr: context.Canceled, wantCause: parentCause},
		{name: "parent first, waited on", done: true, parentEnd: true, end: true, endWith: te, wantErr: context.Canceled, wantCause: parentCause},
		{name: "parent only", parentEnd: true, wantErr: context.Canceled, wantCause: parentCause},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
			defer cancelParent(nil)
			c := newTryContext(parent)
			ctx := context.Context(&c)
			var done <-chan struct{}
			if tc.done {
				done = ctx.Done()
			}
			if tc.parentEnd {
				cancelParent(parentCause)
			}
			if tc.end {
				c.end(tc.endWith)
			}
			if got := ctx.Err(); !errors.Is(got, tc.wantErr) || (got == nil) != (tc.wantErr == nil) {
				t.Errorf("Err() = %v, want %v", got, tc.wantErr)
			}
			if got := context.Cause(ctx); got != tc.wantCause {
				t.Errorf("Cause = %v, want %v", got, tc.wantCause)
			}
			if got := ctx.Value(key{}); got != "v" {
				t.Errorf("Value = %v, want the parent's", got)
			}
			if done == nil {
				done = ctx.Done()
			}
			select {
			case <-done:
				if tc.wantErr == nil {
					t.Error("Done is closed while the try runs")
				}
			default:
				if tc.wantErr != nil {
					t.Error("Done is open after the end")
				}
			}
		})
	}
}

// TestTryContextDerived checks that a context derived from a try's ends
// with it, and a derived one's cause is the try's.
func TestTryContextDerived(t *testing.T) {
	te := &TimeoutError{Limit: time.Second}
	c := newTryContext(context.Background())
	child, cancel := context.WithTimeout(&c, time.Hour)
	defer cancel()
	c.end(te)
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the derived context did not end with the try")
	}
	if got := context.Cause(child); got != te {
		t.Errorf("Cause(derived) = %v, want %v", got, te)
	}
	c.end(nil) // a second end changes nothing
	if got := context.Cause(&c); got != te {
		t.Errorf("Cause after a second end = %v, want %v", got, te)
	}
}

// TestTryContextRace ends a try while others wait on it and read it, for
// the race detector.
func TestTryContextRace(t *testing.T) {
	for range 50 {
		c := newTryContext(context.Background())
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_ = c.Err()
				_ = context.Cause(&c)
				<-c.Done()
			})
		}
		c.end(&TimeoutError{Limit: time.Millisecond})
		wg.Wait()
	}
}

// BenchmarkTryContext compares a try's context with the standard one it
// replaced, for a handler that does not wait on it.
func BenchmarkTryContext(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	var t handlerTry // in the pump, part of the delivery's allocation
	b.Run("gobus", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			t.tc = newTryContext(parent)
			t.ctx = &t.tc
			_ = t.ctx.Err()
			t.cancel(nil)
		}
	})
	b.Run("standard", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			ctx, cancel := context.WithCancelCause(parent)
			t.ctx = ctx
			_ = t.ctx.Err()
			cancel(nil)
		}
	})
}
