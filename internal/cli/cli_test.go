package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/gobusdev/gobus/internal/cli"
	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// bus is a server with a worker endpoint and two event subscribers whose
// handlers fail while broken is set.
type bus struct {
	url      string
	client   *gobus.Client
	broken   atomic.Bool
	mu       sync.Mutex
	handled  map[string]int // "endpoint/id" → times handled
	attempts atomic.Int64
}

func newBus(t *testing.T) *bus {
	t.Helper()
	b := &bus{url: natstest.RunServer(t).ClientURL(), handled: map[string]int{}}
	ctx := context.Background()
	c, err := gobus.Connect(ctx, gobus.WithURL(b.url), gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	b.client = c
	b.start(t, "worker", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkHandler(ep, work(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
			return b.handle("worker", w.GetId())
		}))
	})
	b.start(t, "listener", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, done(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			return b.handle("listener", e.GetId())
		}))
	})
	b.start(t, "other", func(ep *gobus.Endpoint) error {
		return gobustestv1.RegisterWorkDoneHandler(ep, done(func(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.handled["other/"+e.GetId()]++ // never fails
			return nil
		}))
	})
	return b
}

func (b *bus) start(t *testing.T, name string, register func(*gobus.Endpoint) error) {
	t.Helper()
	ep, err := gobus.NewEndpoint(b.client, name, gobus.WithRetryPolicy(gobus.NoRetries()), gobus.WithConcurrency(32))
	if err != nil {
		t.Fatal(err)
	}
	if err := register(ep); err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (b *bus) handle(endpoint, id string) error {
	b.attempts.Add(1)
	if b.broken.Load() {
		return fmt.Errorf("%s is broken today", endpoint)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handled[endpoint+"/"+id]++
	return nil
}

func (b *bus) count(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.handled[key]
}

func (b *bus) total(prefix string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k, v := range b.handled {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

type work func(context.Context, *gobus.MessageContext, *gobustestv1.Work) error

func (f work) HandleWork(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
	return f(ctx, mc, w)
}

type done func(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error

func (f done) HandleWorkDone(ctx context.Context, mc *gobus.MessageContext, e *gobustestv1.WorkDone) error {
	return f(ctx, mc, e)
}

// gobusCLI runs the command tree in process, as the binary would.
func gobusCLI(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := cli.NewCommand(&out, &errOut)
	cmd.SetArgs(append([]string{"--server", url}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func mustCLI(t *testing.T, url string, args ...string) string {
	t.Helper()
	out, err := gobusCLI(t, url, args...)
	if err != nil {
		t.Fatalf("gobus %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type listed struct {
	ID       uint64 `json:"id"`
	Endpoint string `json:"endpoint"`
	Type     string `json:"type"`
	Kind     string `json:"kind"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
}

func list(t *testing.T, url string, args ...string) []listed {
	t.Helper()
	var out []listed
	if err := json.Unmarshal([]byte(mustCLI(t, url, append([]string{"errors", "list", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The operator's day: see failures in status and the error list, read
// one, fix the handler, retry them all. Each is handled once; a retried
// event reaches only the endpoint that failed it.
func TestErrorsWorkflow(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.broken.Store(true)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := gobustestv1.SendWork(ctx, b.client, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"d1", "d2"} {
		if err := gobustestv1.PublishWorkDone(ctx, b.client, &gobustestv1.WorkDone{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "five failed messages", func() bool { return len(list(t, b.url)) == 5 })
	waitFor(t, "other saw both events", func() bool { return b.total("other/") == 2 })

	var status []struct {
		Endpoint string `json:"endpoint"`
		Failed   uint64 `json:"failed"`
		Pending  uint64 `json:"pending"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, b.url, "status", "--json")), &status); err != nil {
		t.Fatal(err)
	}
	failedBy := map[string]uint64{}
	for _, s := range status {
		failedBy[s.Endpoint] = s.Failed
	}
	if failedBy["worker"] != 3 || failedBy["listener"] != 2 || failedBy["other"] != 0 {
		t.Errorf("status failed counts %v, want worker 3, listener 2, other 0", failedBy)
	}
	table := mustCLI(t, b.url, "status")
	if !strings.Contains(table, "ENDPOINT") || !strings.Contains(table, "worker") {
		t.Errorf("status table:\n%s", table)
	}

	if got := list(t, b.url, "--endpoint", "listener"); len(got) != 2 || got[0].Type != gobustestv1.WorkDoneType {
		t.Errorf("list --endpoint listener: %+v", got)
	}
	workFailures := list(t, b.url, "--type", gobustestv1.WorkType, "--contains", "BROKEN today")
	if len(workFailures) != 3 || workFailures[0].Kind != "handler" || workFailures[0].Attempts != 1 || workFailures[0].Error != "worker is broken today" {
		t.Errorf("list --type --contains: %+v", workFailures)
	}
	if table := mustCLI(t, b.url, "errors", "list"); !strings.Contains(table, "worker is broken today") || !strings.Contains(table, "ATTEMPTS") {
		t.Errorf("errors list table:\n%s", table)
	}

	// The three failed concurrently, so any of them may hold Work "a".
	var shown string
	for _, f := range workFailures {
		shown += mustCLI(t, b.url, "errors", "show", fmt.Sprint(f.ID))
	}
	for _, want := range []string{"type:       gobustest.v1.Work", "worker is broken today", "gobus-failed-endpoint: worker", `"id":"a"`} {
		// protojson varies its spacing on purpose; compare without spaces.
		if !strings.Contains(strings.Join(strings.Fields(shown), ""), strings.Join(strings.Fields(want), "")) {
			t.Errorf("errors show lacks %q:\n%s", want, shown)
		}
	}

	b.broken.Store(false)
	out := mustCLI(t, b.url, "errors", "retry", "--all")
	if !strings.Contains(out, "retried 5 of 5") {
		t.Errorf("retry output: %s", out)
	}
	waitFor(t, "the retried messages handled", func() bool { return b.total("worker/") == 3 && b.total("listener/") == 2 })
	if n := len(list(t, b.url)); n != 0 {
		t.Errorf("%d messages left in the error stream", n)
	}
	for _, id := range []string{"d1", "d2"} {
		if n := b.count("other/" + id); n != 1 {
			t.Errorf("healthy subscriber handled event %s %d times, want once: a retry must reach only the failing endpoint", id, n)
		}
	}
}

// Fixing the handler and retrying 1,000 failed messages handles all of
// them and empties the error stream.
func TestRetryAllThousand(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.broken.Store(true)
	ctx := context.Background()
	const n = 1000
	for i := range n {
		if err := gobustestv1.SendWork(ctx, b.client, &gobustestv1.Work{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all failed", func() bool { return len(list(t, b.url)) == n })
	b.broken.Store(false)
	out := mustCLI(t, b.url, "errors", "retry", "--all")
	if !strings.Contains(out, fmt.Sprintf("retried %d of %d", n, n)) {
		t.Fatalf("retry: %s", out)
	}
	waitFor(t, "all handled", func() bool { return b.total("worker/") == n })
	for i := range n {
		if c := b.count(fmt.Sprint("worker/", i)); c != 1 {
			t.Fatalf("work %d handled %d times", i, c)
		}
	}
	if left := len(list(t, b.url)); left != 0 {
		t.Errorf("%d left in the error stream", left)
	}
}

// delete removes what it is told to, and refuses to guess.
func TestDelete(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.broken.Store(true)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := gobustestv1.SendWork(ctx, b.client, &gobustestv1.Work{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := gobustestv1.PublishWorkDone(ctx, b.client, &gobustestv1.WorkDone{Id: "d"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "four failed", func() bool { return len(list(t, b.url)) == 4 })
	if _, err := gobusCLI(t, b.url, "errors", "delete"); err == nil || !strings.Contains(err.Error(), "choose messages") {
		t.Errorf("delete without a selector: %v", err)
	}
	first := list(t, b.url, "--endpoint", "worker")[0]
	mustCLI(t, b.url, "errors", "delete", fmt.Sprint(first.ID))
	if got := list(t, b.url); len(got) != 3 {
		t.Errorf("after deleting one: %d left", len(got))
	}
	mustCLI(t, b.url, "errors", "delete", "--endpoint", "worker")
	if got := list(t, b.url); len(got) != 1 || got[0].Endpoint != "listener" {
		t.Errorf("after deleting worker's: %+v", got)
	}
	if _, err := gobusCLI(t, b.url, "errors", "delete", fmt.Sprint(first.ID)); err == nil || !strings.Contains(err.Error(), "no failed message with id") {
		t.Errorf("deleting a gone id: %v", err)
	}
}

// Wrong input gets a clear error.
func TestClearErrors(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--server", "nats://127.0.0.1:1", "status"}, "cannot connect to NATS at nats://127.0.0.1:1"},
		{[]string{"--prefix", "staging", "errors", "list"}, "no error stream staging_errors"},
		{[]string{"--prefix", "a.b", "status"}, `prefix "a.b" is not valid`},
		{[]string{"errors", "show", "42"}, "no failed message with id 42"},
		{[]string{"errors", "show", "x"}, `"x" is not a failed-message id`},
		{[]string{"errors", "retry", "1", "--all"}, "not both"},
		{[]string{"errors", "show", "1", "--descriptors", "/nonexistent"}, "reading descriptors"},
	}
	for _, tc := range cases {
		_, err := gobusCLI(t, b.url, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("gobus %s: %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// show decodes a body with a descriptor set made by buf build.
func TestShowWithDescriptors(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.broken.Store(true)
	if err := gobustestv1.SendWork(context.Background(), b.client, &gobustestv1.Work{Id: "decoded-here"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one failed", func() bool { return len(list(t, b.url)) == 1 })
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto),
		protodesc.ToFileDescriptorProto(gobusv1.File_gobus_v1_options_proto),
		protodesc.ToFileDescriptorProto(gobustestv1.File_gobustest_v1_messages_proto),
	}}
	data, _ := proto.Marshal(set)
	path := filepath.Join(t.TempDir(), "contracts.binpb")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(list(t, b.url)[0].ID)
	var shown struct {
		Decoded bool            `json:"body_decoded"`
		Body    json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, b.url, "errors", "show", id, "--json", "--descriptors", path)), &shown); err != nil {
		t.Fatal(err)
	}
	if !shown.Decoded || !strings.Contains(string(shown.Body), "decoded-here") {
		t.Errorf("body not decoded: %s", shown.Body)
	}
}

// The real binary runs and speaks to the server.
func TestBinary(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	bin := filepath.Join(t.TempDir(), "gobus")
	build := exec.Command("go", "build", "-o", bin, "github.com/gobusdev/gobus/cmd/gobus")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "status")
	cmd.Env = append(os.Environ(), "GOBUS_URL="+b.url)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "worker") {
		t.Errorf("gobus status: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "--server", "nats://127.0.0.1:1", "status")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "gobus: cannot connect") {
		t.Errorf("gobus status against nothing: %v\n%s", err, out)
	}
}
