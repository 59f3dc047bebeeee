package gobus_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// The route constructors, which generated code calls to initialise its
// package-level variables, refuse a route that cannot work with a panic
// that wraps ErrInvalidOption and says what to write: before the program
// connects, so nothing reaches the wire. A wildcard subject would fan a
// publish out or make a consumer take every event; a CR/LF in a type would
// never match; a subject of 6,000 characters would overflow the NATS
// control line and close the connection for good.
func TestRouteConstructorsRefuseInvalidRoutes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 6000)
	cases := []struct {
		name                   string
		typ, endpoint, subject string
		event                  bool
		want                   string
	}{
		{"subject with *", "a.v1.Cmd", "worker", "x.*", false, "without wildcards"},
		{"event subject with >", "a.v1.Evt", "", "x.>", true, "without wildcards"},
		{"empty subject", "a.v1.Cmd", "worker", "", false, "empty tokens"},
		{"empty token", "a.v1.Evt", "", "a..b", true, "empty tokens"},
		{"subject with a space", "a.v1.Cmd", "worker", "a b", false, "spaces"},
		{"subject with a tab", "a.v1.Evt", "", "a\tb", true, "spaces"},
		{"6,000-character subject", "a.v1.Cmd", "worker", long, false, "at most 512"},
		{"type with CR/LF", "a.v1.Cmd\r\nX", "worker", "a.v1.Cmd", false, "not a proto full name"},
		{"empty type", "", "worker", "a.v1.Cmd", false, "not a proto full name"},
		{"type starting with a digit", "1a.Cmd", "", "a.Cmd", true, "not a proto full name"},
		{"6,000-character type", long, "", "a.Evt", true, "at most 512"},
		{"endpoint with a dot", "a.v1.Cmd", "sales.eu", "a.v1.Cmd", false, `endpoint "sales.eu"`},
		{"empty endpoint", "a.v1.Cmd", "", "a.v1.Cmd", false, `endpoint ""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := routePanic(func() {
				if tc.event {
					gobus.NewEventRoute[*gobustestv1.WorkDone](tc.typ, tc.subject)
				} else {
					gobus.NewCommandRoute[*gobustestv1.Work](tc.typ, tc.endpoint, tc.subject)
				}
			})
			if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("route constructor panicked with %v, want an ErrInvalidOption mentioning %q", err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("the error %q carries a raw CR or LF", err)
			}
		})
	}
	if err := routePanic(func() { gobus.NewCommandRoute[*gobustestv1.Work]("a.v1.Cmd", "worker", "orders.place-v2") }); err != nil {
		t.Errorf("a valid route: %v", err)
	}
}

// routePanic runs f and returns the error it panicked with, nil if it did
// not panic.
func routePanic(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if err, ok = r.(error); !ok {
				err = errors.New("panic with a non-error value")
			}
		}
	}()
	f()
	return nil
}

// WithRoute names a type some contract declares, and a command: a typo
// fails at Connect instead of leaving the commands on their old route.
func TestWithRouteOfAnUndeclaredTypeFailsAtConnect(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	cases := []struct {
		name, typ, want string
	}{
		{"typo", "gobustest.v1.Wrok", `no contract declares message type "gobustest.v1.Wrok"`},
		{"an event", gobustestv1.WorkDoneType, "reroutes commands only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithRoute(tc.typ, "worker-eu"))
			if err == nil {
				_ = c.Close(context.Background())
			}
			if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Connect with WithRoute(%q): %v, want ErrInvalidOption mentioning %q", tc.typ, err, tc.want)
			}
		})
	}
	if !strings.Contains(errString(gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithRoute("x.Y", "e"))), gobustestv1.WorkType) {
		t.Error("the error does not list the declared commands")
	}
}

// WithRetryPolicyFor names a type some contract declares: a typo fails at
// NewEndpoint instead of being ignored.
func TestWithRetryPolicyForAnUndeclaredTypeFailsAtNewEndpoint(t *testing.T) {
	t.Parallel()
	c := connect(t, newServerURL(t))
	_, err := gobus.NewEndpoint(c, "worker", gobus.WithRetryPolicyFor("gobustest.v1.Wrok", gobus.NoRetries()))
	if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), `WithRetryPolicyFor("gobustest.v1.Wrok")`) {
		t.Errorf("NewEndpoint: %v, want ErrInvalidOption naming WithRetryPolicyFor", err)
	}
	if _, err := gobus.NewEndpoint(c, "worker", gobus.WithRetryPolicyFor(gobustestv1.WorkType, gobus.NoRetries())); err != nil {
		t.Errorf("NewEndpoint with a declared type: %v", err)
	}
}

// Two prefixes never share a stream: prefix "cx_queue"'s events stream
// and prefix "cx"'s queue of endpoint "events" were both
// "cx_queue_events". A prefix may not hold '_', so the first '_' of a
// stream name ends its prefix.
func TestPrefixWithUnderscoreFailsAtConnect(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	c, err := gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithPrefix("cx_queue"))
	if err == nil {
		_ = c.Close(context.Background())
	}
	if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), "no '_'") || !strings.Contains(err.Error(), `"cx-queue"`) {
		t.Errorf("Connect with prefix cx_queue: %v, want ErrInvalidOption explaining '_' and suggesting cx-queue", err)
	}
	cx := connect(t, url, gobus.WithPrefix("cx"))
	ep, err := gobus.NewEndpoint(cx, "events")
	if err != nil {
		t.Fatal(err)
	}
	_ = ep
}

// A source becomes the ce-source header: it is bounded and holds no
// control characters.
func TestInvalidSourceFailsAtConnect(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	for _, source := range []string{"a\r\nb", strings.Repeat("s", 300)} {
		c, err := gobus.Connect(context.Background(), gobus.WithURL(url), gobus.WithLogger(testLogger()), gobus.WithSource(source))
		if err == nil {
			_ = c.Close(context.Background())
		}
		if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), "WithSource") {
			t.Errorf("Connect with source %.20q: %v, want ErrInvalidOption naming WithSource", source, err)
		}
	}
}

func errString(_ *gobus.Client, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
