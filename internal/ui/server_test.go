package ui_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/ui"
	gobus "github.com/gobusdev/gobus/runtime"
)

// fixture is a server with a worker endpoint that fails while broken,
// naming the work's id and a number in its error, and the page over it.
type fixture struct {
	client  *gobus.Client
	js      jetstream.JetStream
	broken  atomic.Bool
	mu      sync.Mutex
	handled map[string]int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ns := natstest.RunServer(t)
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(ns.ClientURL()), gobus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{client: c, js: js, handled: map[string]int{}}
	ep, err := gobus.NewEndpoint(c, "worker", gobus.WithRetryPolicy(gobus.NoRetries()))
	if err != nil {
		t.Fatal(err)
	}
	err = gobustestv1.RegisterWorkHandler(ep, workFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
		if f.broken.Load() {
			if strings.HasPrefix(w.GetId(), "bad-") {
				return errors.New("malformed work " + w.GetId())
			}
			return fmt.Errorf("store unavailable for work %s after %d ms", w.GetId(), 100+len(w.GetId()))
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.handled[w.GetId()]++
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

type workFunc func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error

func (f workFunc) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	return f(ctx, mc, w)
}

// fail sends work with ids that the broken worker fails, and waits until
// all of them are in the error stream.
func (f *fixture) fail(t *testing.T, ids ...string) {
	t.Helper()
	f.broken.Store(true)
	ctx := context.Background()
	before := f.failedCount(t)
	for _, id := range ids {
		if err := gobustestv1.SendWork(ctx, f.client, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the failures in the error stream", func() bool { return f.failedCount(t) == before+len(ids) })
}

func (f *fixture) failedCount(t *testing.T) int {
	st, err := f.js.Stream(context.Background(), "gobus_errors")
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

func (f *fixture) handledCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handled[id]
}

// page serves the page for f on an httptest server on loopback and
// returns its URL and a client that keeps cookies.
func (f *fixture) page(t *testing.T, cfg ui.Config) (string, *http.Client) {
	t.Helper()
	cfg.JS, cfg.Prefix, cfg.Loopback = f.js, "gobus", true
	s, err := ui.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return srv.URL, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	groupRow  = regexp.MustCompile(`(?s)<tr class="group" data-group="([0-9a-f]+)">.*?</tr>`)
)

// groups reads the failed page's groups: masked error → count and group id.
func groups(t *testing.T, c *http.Client, base string) (map[string]string, string) {
	t.Helper()
	code, body := get(t, c, base+"/failed")
	if code != http.StatusOK {
		t.Fatalf("GET /failed: %d %s", code, body)
	}
	out := map[string]string{}
	for _, m := range groupRow.FindAllStringSubmatch(body, -1) {
		row := m[0]
		errText := regexp.MustCompile(`<a href="/failed/group/[0-9a-f]+">([^<]*)</a>`).FindStringSubmatch(row)
		count := regexp.MustCompile(`<td class="num count">(\d+)</td>`).FindStringSubmatch(row)
		if errText == nil || count == nil {
			t.Fatalf("group row without error or count: %s", row)
		}
		out[errText[1]] = count[1] + " " + m[1]
	}
	return out, body
}

// The failed page groups failures by endpoint, type and masked error:
// the ids and numbers in errors do not split a group.
func TestFailedGroupsMaskIDsAndNumbers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fail(t, "a-1", "b-22", "c-333", "bad-1", "bad-2")
	base, c := f.page(t, ui.Config{})
	got, body := groups(t, c, base)
	if len(got) != 2 {
		t.Fatalf("groups %v, want 2:\n%s", got, body)
	}
	if g := got["store unavailable for work # after # ms"]; !strings.HasPrefix(g, "3 ") {
		t.Errorf("store group %q, want 3 messages; groups %v", g, got)
	}
	if g := got["malformed work #"]; !strings.HasPrefix(g, "2 ") {
		t.Errorf("malformed group %q, want 2 messages; groups %v", g, got)
	}
	if !strings.Contains(body, "5 messages in 2 groups") {
		t.Errorf("page does not say 5 messages in 2 groups")
	}
}

// Retrying a group from the page sends exactly its messages back, as
// gobus errors retry does, and leaves the other group alone.
func TestRetryGroup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fail(t, "a-1", "b-22", "c-333", "bad-1")
	base, c := f.page(t, ui.Config{})
	got, body := groups(t, c, base)
	group := strings.Fields(got["store unavailable for work # after # ms"])
	if len(group) != 2 {
		t.Fatalf("no store group in %v", got)
	}
	token := csrfField.FindStringSubmatch(body)[1]
	f.broken.Store(false)
	code, _ := post(t, c, base+"/failed/retry", url.Values{"csrf": {token}, "group": {group[1]}, "back": {"/failed"}})
	if code != http.StatusSeeOther {
		t.Fatalf("POST retry: %d", code)
	}
	waitFor(t, "the group's work handled", func() bool {
		return f.handledCount("a-1") == 1 && f.handledCount("b-22") == 1 && f.handledCount("c-333") == 1
	})
	got, body = groups(t, c, base)
	if len(got) != 1 || !strings.HasPrefix(got["malformed work #"], "1 ") {
		t.Errorf("after retrying the group: groups %v", got)
	}
	if !strings.Contains(body, "retried 3 of 3 failed messages") {
		t.Errorf("the page does not say what the retry did")
	}
	if f.handledCount("bad-1") != 0 {
		t.Errorf("a message of another group was retried")
	}
}

// A POST without the page's CSRF token, with a wrong one, or from
// another origin changes nothing.
func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fail(t, "a-1")
	base, c := f.page(t, ui.Config{})
	_, body := groups(t, c, base)
	token := csrfField.FindStringSubmatch(body)[1]
	for _, tc := range []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{"all": {"1"}}, nil},
		{"wrong token", url.Values{"all": {"1"}, "csrf": {strings.Repeat("x", 43)}}, nil},
		{"other origin", url.Values{"all": {"1"}, "csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"other origin header", url.Values{"all": {"1"}, "csrf": {token}}, http.Header{"Origin": {"http://evil.example"}}},
	} {
		req, _ := http.NewRequest(http.MethodPost, base+"/failed/delete", strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, vs := range tc.header {
			req.Header[k] = vs
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
		}
	}
	// A fresh client has no CSRF cookie: the page's token alone is not enough.
	jarless := &http.Client{CheckRedirect: c.CheckRedirect}
	if code, _ := post(t, jarless, base+"/failed/delete", url.Values{"all": {"1"}, "csrf": {token}}); code != http.StatusForbidden {
		t.Errorf("token without its cookie: status %d, want 403", code)
	}
	if n := f.failedCount(t); n != 1 {
		t.Errorf("%d failed messages left, want 1: a refused request deleted", n)
	}
	if code, _ := get(t, c, base+"/failed/delete?all=1&csrf="+url.QueryEscape(token)); code < 400 {
		t.Errorf("GET /failed/delete: %d, want a refusal: only POST changes anything", code)
	}
	if n := f.failedCount(t); n != 1 {
		t.Errorf("%d failed messages left after a GET, want 1", n)
	}
}

// Off loopback the page needs a token or basic auth, and refuses
// requests without it.
func TestTokenRequiredOffLoopback(t *testing.T) {
	t.Parallel()
	if err := ui.CheckExposure("0.0.0.0:8222", ui.Auth{}); !errors.Is(err, ui.ErrExposed) {
		t.Errorf("0.0.0.0 without auth: %v, want ErrExposed", err)
	}
	if err := ui.CheckExposure(":8222", ui.Auth{}); !errors.Is(err, ui.ErrExposed) {
		t.Errorf("all interfaces without auth: %v, want ErrExposed", err)
	}
	for _, addr := range []string{"127.0.0.1:8222", "[::1]:8222", "localhost:8222"} {
		if err := ui.CheckExposure(addr, ui.Auth{}); err != nil {
			t.Errorf("%s without auth: %v", addr, err)
		}
	}
	if err := ui.CheckExposure("0.0.0.0:8222", ui.Auth{Token: "s3cret"}); err != nil {
		t.Errorf("0.0.0.0 with a token: %v", err)
	}
	if err := ui.CheckExposure("0.0.0.0:8222", ui.Auth{User: "ops"}); err == nil {
		t.Errorf("a user without a password was accepted")
	}
	f := newFixture(t)
	if _, err := ui.New(ui.Config{JS: f.js, Prefix: "gobus"}); !errors.Is(err, ui.ErrExposed) {
		t.Errorf("New off loopback without auth: %v, want ErrExposed", err)
	}
	s, err := ui.New(ui.Config{JS: f.js, Prefix: "gobus", Auth: ui.Auth{Token: "s3cret", User: "ops", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if code, _ := get(t, c, srv.URL+"/endpoints"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := get(t, c, srv.URL+"/endpoints?token=wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/endpoints", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("bearer token: %v %v", resp, err)
	}
	req.Header.Del("Authorization")
	req.SetBasicAuth("ops", "pw")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("basic auth: %v %v", resp, err)
	}
	code, body := get(t, c, srv.URL+"/endpoints?token=s3cret")
	if code != http.StatusOK {
		t.Fatalf("?token= then redirect: %d", code)
	}
	if strings.Contains(body, "s3cret") || strings.Contains(body, `"pw"`) {
		t.Errorf("the page shows a secret")
	}
	if code, _ := get(t, c, srv.URL+"/failed"); code != http.StatusOK {
		t.Errorf("after ?token= the cookie should let the browser in: %d", code)
	}
}

// On loopback without authentication, only loopback host names are
// answered, so a rebound DNS name cannot read the page.
func TestLoopbackRefusesOtherHostNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, c := f.page(t, ui.Config{})
	req, _ := http.NewRequest(http.MethodGet, base+"/endpoints", nil)
	req.Host = "attacker.example:80"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host attacker.example: %d, want 421", resp.StatusCode)
	}
}

// The endpoints page shows each endpoint's queue from consumer info and
// its failed count.
func TestEndpointsPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fail(t, "a-1", "b-2")
	base, c := f.page(t, ui.Config{})
	code, body := get(t, c, base+"/endpoints")
	if code != http.StatusOK {
		t.Fatalf("GET /endpoints: %d", code)
	}
	row := regexp.MustCompile(`(?s)<tr data-endpoint="worker">.*?</tr>`).FindString(body)
	if row == "" {
		t.Fatalf("no worker row:\n%s", body)
	}
	if !strings.Contains(row, `<a href="/failed?endpoint=worker">2</a>`) || !strings.Contains(row, "<svg") {
		t.Errorf("worker row lacks its 2 failed or its sparkline:\n%s", row)
	}
	if !strings.Contains(body, "consumer info") {
		t.Errorf("the page does not say where its numbers come from")
	}
}

// The message detail shows failure headers apart from the message's own,
// and the body decoded by the types linked in when no registry knows it.
func TestMessageDetail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fail(t, "a-1")
	base, c := f.page(t, ui.Config{})
	_, body := get(t, c, base+"/failed")
	gid := groupRow.FindStringSubmatch(body)[1]
	_, body = get(t, c, base+"/failed/group/"+gid)
	id := regexp.MustCompile(`<a href="/failed/(\d+)">`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("group page lists no message:\n%s", body)
	}
	code, body := get(t, c, base+"/failed/"+id[1])
	if code != http.StatusOK {
		t.Fatalf("detail: %d", code)
	}
	// protojson varies its spacing on purpose; compare without spaces.
	flat := strings.Join(strings.Fields(body), "")
	for _, want := range []string{"gobus-failed-endpoint", "ce-type", "storeunavailableforworka-1", `&#34;id&#34;:&#34;a-1&#34;`} {
		if !strings.Contains(flat, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	if code, _ := get(t, c, base+"/failed/999"); code != http.StatusNotFound {
		t.Errorf("unknown id: %d, want 404", code)
	}
}
