// Package badroutes_test registers invalid routes, which would make every
// Connect of the process fail, so it runs in a test binary of its own.
package badroutes_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gobusdev/gobus/internal/natstest"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Routes written by hand, as Route literals, bypass the route
// constructors' checks; RegisterRoutes records them, and Connect fails
// with ErrInvalidOption naming each, before anything reaches the wire: a
// wildcard subject, and a subject override of 6,000 characters that would
// overflow the NATS control line and close the connection for good.
func init() {
	gobus.RegisterRoutes(
		gobus.Route{Type: "bad.v1.Wild", Kind: gobus.KindEvent, Subject: "bad.>"},
		gobus.Route{Type: "bad.v1.Long", Kind: gobus.KindCommand, Endpoint: "bad", Subject: strings.Repeat("x", 6000)},
	)
}

func TestInvalidRegisteredRoutesFailConnect(t *testing.T) {
	url := natstest.RunServer(t).ClientURL()
	c, err := gobus.Connect(context.Background(), gobus.WithURL(url))
	if err == nil {
		_ = c.Close(context.Background())
		t.Fatal("Connect succeeded with invalid routes registered")
	}
	for _, want := range []string{"bad.v1.Wild", "without wildcards", "bad.v1.Long", "at most 512"} {
		if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), want) {
			t.Errorf("Connect: %v, want ErrInvalidOption mentioning %q", err, want)
		}
	}
	for _, r := range gobus.Routes() {
		if strings.HasPrefix(r.Type, "bad.") {
			t.Errorf("the invalid route of %s is in the routing table", r.Type)
		}
	}
}
