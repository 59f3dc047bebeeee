package gobus_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// parcelsFunc adapts a function to the generated ParcelShippedHandler.
type parcelsFunc func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.ParcelShipped) error

func (f parcelsFunc) HandleParcelShipped(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.ParcelShipped) error {
	return f(ctx, mc, e)
}

// parcelLog records the ids of the parcels an endpoint handled.
type parcelLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *parcelLog) handler() parcelsFunc {
	return func(_ context.Context, _ *gobus.MessageContext, e *gobustestv1.ParcelShipped) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ids = append(l.ids, e.GetId())
		return nil
	}
}

func (l *parcelLog) sorted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.ids)
	sort.Strings(out)
	return out
}

var (
	standard = gobustestv1.Priority_PRIORITY_STANDARD
	express  = gobustestv1.Priority_PRIORITY_EXPRESS
)

// parcels are the events the filter tests publish: regions with dots,
// spaces, a wildcard and nothing at all, and two priorities.
var parcels = []*gobustestv1.ParcelShipped{
	{Id: "1", Region: "eu", Priority: standard},
	{Id: "2", Region: "eu", Priority: express},
	{Id: "3", Region: "us west.1", Priority: standard},
	{Id: "4", Region: "", Priority: express},
	{Id: "5", Region: "*", Priority: standard},
	{Id: "6", Region: "eu.west", Priority: gobustestv1.Priority_PRIORITY_UNSPECIFIED},
}

// TestFilteredSubscriptions checks that each endpoint's handler receives
// exactly the events that match one of its filters, filtered by the
// server: by a string field, by an enum, by both, by two filters at once,
// and without a filter, everything. Values with dots, spaces, wildcards
// and the empty value are told apart.
func TestFilteredSubscriptions(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	subs := []struct {
		endpoint string
		filters  []gobustestv1.ParcelShippedFilter
		want     []string
	}{
		{"all", nil, []string{"1", "2", "3", "4", "5", "6"}},
		{"eu", []gobustestv1.ParcelShippedFilter{{Region: gobus.Is("eu")}}, []string{"1", "2"}},
		{"express", []gobustestv1.ParcelShippedFilter{{Priority: gobus.Is(express)}}, []string{"2", "4"}},
		{"eu-express", []gobustestv1.ParcelShippedFilter{{Region: gobus.Is("eu"), Priority: gobus.Is(express)}}, []string{"2"}},
		{"odd-regions", []gobustestv1.ParcelShippedFilter{{Region: gobus.Is("us west.1")}, {Region: gobus.Is("")}, {Region: gobus.Is("*")}}, []string{"3", "4", "5"}},
		{"subsumed", []gobustestv1.ParcelShippedFilter{{Region: gobus.Is("eu.west")}, {Region: gobus.Is("eu.west"), Priority: gobus.Is(standard)}}, []string{"6"}},
	}
	logs := map[string]*parcelLog{}
	for _, s := range subs {
		l := &parcelLog{}
		logs[s.endpoint] = l
		startEndpoint(t, c, s.endpoint, func(ep *gobus.Endpoint) error {
			return gobustestv1.RegisterParcelShippedHandler(ep, l.handler(), s.filters...)
		})
	}
	ctx := context.Background()
	for _, p := range parcels {
		if err := gobustestv1.PublishParcelShipped(ctx, c, p); err != nil {
			t.Fatalf("PublishParcelShipped(%s): %v", p.GetId(), err)
		}
	}
	for _, s := range subs {
		waitFor(t, s.endpoint+" to handle every event it subscribed to, and nothing left for it", func() bool {
			info := consumerInfo(t, c, "gobus_events", s.endpoint)
			return len(logs[s.endpoint].sorted()) >= len(s.want) && info.NumPending == 0 && info.NumAckPending == 0
		})
		if got := logs[s.endpoint].sorted(); !slices.Equal(got, s.want) {
			t.Errorf("endpoint %s handled parcels %v, want %v", s.endpoint, got, s.want)
		}
	}
}

// TestFilteredEventSubject checks the subject a filtered event is
// published on, as docs/wire.md documents it for other languages.
func TestFilteredEventSubject(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("gobus.evt.gobustest.v1.ParcelShipped.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"eu":           "gobus.evt.gobustest.v1.ParcelShipped.eu.2",
		"eu.west/1":    "gobus.evt.gobustest.v1.ParcelShipped.eu~2Ewest~2F1.2",
		"":             "gobus.evt.gobustest.v1.ParcelShipped.~.2",
		"Zürich ~ > *": "gobus.evt.gobustest.v1.ParcelShipped.Z~C3~BCrich~20~7E~20~3E~20~2A.2",
	}
	for region, subject := range want {
		if err := gobustestv1.PublishParcelShipped(context.Background(), c, &gobustestv1.ParcelShipped{Id: "x", Region: region, Priority: express}); err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(waitTimeout)
		if err != nil {
			t.Fatalf("waiting for the event of region %q: %v", region, err)
		}
		if msg.Subject != subject {
			t.Errorf("region %q: published on %s, want %s", region, msg.Subject, subject)
		}
	}
}

// TestFilterChangeUpdatesConsumer checks that an endpoint restarted with
// another filter receives what the new filter takes, and not what the
// old one took: the installer updates its consumer's filter subjects.
func TestFilterChangeUpdatesConsumer(t *testing.T) {
	url := newServerURL(t)
	c := connect(t, url)
	ctx := context.Background()
	first := &parcelLog{}
	ep := startEndpoint(t, c, "regional", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterParcelShippedHandler(ep, first.handler(), gobustestv1.ParcelShippedFilter{Region: gobus.Is("eu")})
	})
	if err := ep.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	second := &parcelLog{}
	startEndpoint(t, c, "regional", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterParcelShippedHandler(ep, second.handler(), gobustestv1.ParcelShippedFilter{Region: gobus.Is("us")})
	})
	for _, p := range []*gobustestv1.ParcelShipped{{Id: "eu-1", Region: "eu"}, {Id: "us-1", Region: "us"}} {
		if err := gobustestv1.PublishParcelShipped(ctx, c, p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the restarted endpoint to handle what its new filter takes", func() bool {
		info := consumerInfo(t, c, "gobus_events", "regional")
		return len(second.sorted()) >= 1 && info.NumPending == 0 && info.NumAckPending == 0
	})
	if got := second.sorted(); !slices.Equal(got, []string{"us-1"}) {
		t.Errorf("with the filter changed to us, the endpoint handled %v, want [us-1]", got)
	}
	if got := consumerInfo(t, c, "gobus_events", "regional").Config.FilterSubjects; !slices.Equal(got, []string{"gobus.evt.gobustest.v1.ParcelShipped.us.>"}) {
		t.Errorf("consumer filter subjects %v, want [gobus.evt.gobustest.v1.ParcelShipped.us.>]", got)
	}
}

// TestOverlappingFiltersRefused checks that filters an event can match
// both of, which a JetStream consumer cannot hold, are refused when the
// handler is registered, naming both; and that a filter on an event
// without filter fields is refused too.
func TestOverlappingFiltersRefused(t *testing.T) {
	c := connect(t, newServerURL(t))
	ep, err := gobus.NewEndpoint(c, "overlap")
	if err != nil {
		t.Fatal(err)
	}
	err = gobustestv1.RegisterParcelShippedHandler(ep, (&parcelLog{}).handler(),
		gobustestv1.ParcelShippedFilter{Region: gobus.Is("eu")},
		gobustestv1.ParcelShippedFilter{Priority: gobus.Is(express)})
	if !errors.Is(err, gobus.ErrInvalidOption) {
		t.Fatalf("overlapping filters: err = %v, want ErrInvalidOption", err)
	}
	for _, part := range []string{"(eu, *)", "(*, 2)", "overlap", "make them disjoint"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
	err = gobus.HandleEvent(ep, gobustestv1.WorkDoneRoute, workDoneFunc(nil).HandleWorkDone, gobustestv1.ParcelShippedFilter{}.Filter())
	if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), "has no filter fields") {
		t.Errorf("a filter on an event without filter fields: err = %v", err)
	}
}
