package gengobus_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// contract is a proto3 source in package bad.v1, Go package
// example.com/bad/v1, that imports the gobus options and declares body.
func contract(body string) string {
	return `syntax = "proto3";
package bad.v1;
import "gobus/v1/options.proto";
option go_package = "example.com/bad/v1;badv1";
` + body
}

// TestBadOptions checks that each contract mistake fails the generation
// with an error naming the file, line and column of the option, the
// message and the fix, and that no file is written.
func TestBadOptions(t *testing.T) {
	const (
		a = "bad/v1/a.proto"
		b = "bad/v1/b.proto"
	)
	// endpointFix and subjectFix are the fixes of the invalid endpoint and
	// subject errors.
	const (
		endpointFix = "use up to 64 letters, digits, '-' and '_', starting with a letter"
		subjectFix  = "use tokens of letters, digits, '-' and '_' separated by '.', without wildcards or spaces"
		subjectFix2 = "or leave it out to use the full name bad.v1.Foo"
		routeFix    = "give one of them another subject with the subject option"
		nameFix     = "rename one of the messages or endpoints"
	)
	badEndpoint := func(endpoint string) map[string]string {
		return map[string]string{a: contract(`message Foo { option (gobus.v1.command) = {endpoint: "` + endpoint + `"}; }`)}
	}
	badCommandSubject := func(subject string) map[string]string {
		return map[string]string{a: contract(`message Foo { option (gobus.v1.command) = {endpoint: "sales", subject: "` + subject + `"}; }`)}
	}
	badEventSubject := func(subject string) map[string]string {
		return map[string]string{a: contract(`message Foo { option (gobus.v1.event) = {subject: "` + subject + `"}; }`)}
	}
	tests := []struct {
		name string
		srcs map[string]string
		// want are the parts of the error: the file, the message full
		// name, what is wrong and the fix.
		want []string
	}{
		{
			name: "command without endpoint",
			srcs: map[string]string{a: contract(`message Foo { option (gobus.v1.command) = {}; }`)},
			want: []string{a + ":5:15", "message bad.v1.Foo", "is a command without an endpoint", `name the endpoint that handles it, as in option (gobus.v1.command) = { endpoint: "sales" }`},
		},
		{
			name: "command with a subject but no endpoint",
			srcs: map[string]string{a: contract(`message Foo { option (gobus.v1.command) = {subject: "foo"}; }`)},
			want: []string{a, "message bad.v1.Foo", "is a command without an endpoint", "name the endpoint that handles it"},
		},
		{
			name: "command and event",
			srcs: map[string]string{a: contract(`message Foo {
  option (gobus.v1.command) = {endpoint: "sales"};
  option (gobus.v1.event) = {};
}`)},
			want: []string{a + ":7:3", "message bad.v1.Foo", "is marked both a command and an event", "keep option (gobus.v1.command) if one endpoint handles it, or option (gobus.v1.event)"},
		},
		{
			name: "nested command and event",
			srcs: map[string]string{a: contract(`message Outer { message Foo {
  option (gobus.v1.command) = {endpoint: "sales"};
  option (gobus.v1.event) = {};
} }`)},
			want: []string{a, "message bad.v1.Outer.Foo", "is marked both a command and an event"},
		},
		{
			name: "endpoint with a space",
			srcs: badEndpoint("sa les"),
			want: []string{a, "message bad.v1.Foo", `endpoint "sa les" is not a valid NATS subject token`, endpointFix, `(for example "sa-les")`},
		},
		{
			name: "endpoint with a dot",
			srcs: badEndpoint("sales.eu"),
			want: []string{a, "message bad.v1.Foo", `endpoint "sales.eu" is not a valid NATS subject token`, endpointFix, `(for example "sales-eu")`},
		},
		{
			name: "endpoint wildcard",
			srcs: badEndpoint("*"),
			want: []string{a, "message bad.v1.Foo", `endpoint "*" is not a valid NATS subject token`, endpointFix, `(for example "endpoint")`},
		},
		{
			name: "endpoint full wildcard",
			srcs: badEndpoint(">"),
			want: []string{a, "message bad.v1.Foo", `endpoint ">" is not a valid NATS subject token`, endpointFix},
		},
		{
			name: "endpoint starting with a digit",
			srcs: badEndpoint("9lives"),
			want: []string{a, "message bad.v1.Foo", `endpoint "9lives" is not a valid NATS subject token`, endpointFix, `(for example "endpoint-9lives")`},
		},
		{
			name: "endpoint starting with a dash",
			srcs: badEndpoint("-sales"),
			want: []string{a, "message bad.v1.Foo", `endpoint "-sales" is not a valid NATS subject token`, endpointFix, `(for example "sales")`},
		},
		{
			name: "endpoint not ASCII",
			srcs: badEndpoint("verkäufe"),
			want: []string{a, "message bad.v1.Foo", `endpoint "verkäufe" is not a valid NATS subject token`, endpointFix, `(for example "verk-ufe")`},
		},
		{
			name: "endpoint too long",
			srcs: badEndpoint(strings.Repeat("s", 65)),
			want: []string{a, "message bad.v1.Foo", "is not a valid NATS subject token", endpointFix, `(for example "` + strings.Repeat("s", 64) + `")`},
		},
		{
			name: "command subject with an empty token",
			srcs: badCommandSubject("a..b"),
			want: []string{a, "message bad.v1.Foo", `subject "a..b" is not a valid NATS subject`, subjectFix, `as in option (gobus.v1.command) = { subject: "orders.placed" }`, subjectFix2},
		},
		{
			name: "command subject with a wildcard",
			srcs: badCommandSubject("orders.*"),
			want: []string{a, "message bad.v1.Foo", `subject "orders.*" is not a valid NATS subject`, subjectFix, "option (gobus.v1.command)"},
		},
		{
			name: "command subject with a full wildcard",
			srcs: badCommandSubject("orders.>"),
			want: []string{a, "message bad.v1.Foo", `subject "orders.>" is not a valid NATS subject`, subjectFix},
		},
		{
			name: "event subject with a space",
			srcs: badEventSubject("a b"),
			want: []string{a, "message bad.v1.Foo", `subject "a b" is not a valid NATS subject`, subjectFix, `as in option (gobus.v1.event) = { subject: "orders.placed" }`, subjectFix2},
		},
		{
			name: "event subject with a leading dot",
			srcs: badEventSubject(".orders"),
			want: []string{a, "message bad.v1.Foo", `subject ".orders" is not a valid NATS subject`, subjectFix},
		},
		{
			name: "event subject with a trailing dot",
			srcs: badEventSubject("orders."),
			want: []string{a, "message bad.v1.Foo", `subject "orders." is not a valid NATS subject`, subjectFix},
		},
		{
			name: "event subject with a dollar sign",
			srcs: badEventSubject("$JS.API"),
			want: []string{a, "message bad.v1.Foo", `subject "$JS.API" is not a valid NATS subject`, subjectFix},
		},
		{
			name: "two events with one subject",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.event) = {subject: "orders.placed"}; }
message Bar { option (gobus.v1.event) = {subject: "orders.placed"}; }`)},
			want: []string{a + ":7:15", "message bad.v1.Bar", "routes to subject <prefix>.evt.orders.placed", "which message bad.v1.Foo in " + a + " already uses", routeFix},
		},
		{
			name: "event subject equal to another event's full name",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.event) = {}; }
message Bar { option (gobus.v1.event) = {subject: "bad.v1.Foo"}; }`)},
			want: []string{a, "message bad.v1.Bar", "routes to subject <prefix>.evt.bad.v1.Foo", "which message bad.v1.Foo in " + a + " already uses", routeFix},
		},
		{
			name: "two commands of one endpoint with one subject",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.command) = {endpoint: "sales", subject: "place"}; }
message Bar { option (gobus.v1.command) = {endpoint: "sales", subject: "place"}; }`)},
			want: []string{a, "message bad.v1.Bar", "routes to subject <prefix>.cmd.sales.place", "which message bad.v1.Foo in " + a + " already uses", routeFix},
		},
		{
			name: "two events with one subject in two files",
			srcs: map[string]string{
				a: contract(`message Foo { option (gobus.v1.event) = {subject: "orders.placed"}; }`),
				b: `syntax = "proto3";
package other.v1;
import "gobus/v1/options.proto";
option go_package = "example.com/other/v1;otherv1";
message Bar { option (gobus.v1.event) = {subject: "orders.placed"}; }`,
			},
			want: []string{b, "message other.v1.Bar", "routes to subject <prefix>.evt.orders.placed", "which message bad.v1.Foo in " + a + " already uses", routeFix},
		},
		{
			name: "two commands of one endpoint with one subject in two files",
			srcs: map[string]string{
				a: contract(`message Foo { option (gobus.v1.command) = {endpoint: "sales", subject: "place"}; }`),
				b: `syntax = "proto3";
package other.v1;
import "gobus/v1/options.proto";
option go_package = "example.com/other/v1;otherv1";
message Bar { option (gobus.v1.command) = {endpoint: "sales", subject: "place"}; }`,
			},
			want: []string{b, "message other.v1.Bar", "routes to subject <prefix>.cmd.sales.place", "which message bad.v1.Foo in " + a + " already uses", routeFix},
		},
		{
			name: "two files of one Go package with commands for one endpoint",
			srcs: map[string]string{
				a: contract(`message Foo { option (gobus.v1.command) = {endpoint: "sales"}; }`),
				b: contract(`message Bar { option (gobus.v1.command) = {endpoint: "sales"}; }`),
			},
			want: []string{b, "message bad.v1.Bar", `is a command for endpoint "sales"`, "also declared in " + a + " (message bad.v1.Foo), in the same Go package", "declare an endpoint's commands in one file, so that its SalesHandler interface is generated once"},
		},
		{
			name: "Go name clash with a message",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.command) = {endpoint: "sales"}; }
message FooHandler {}`)},
			want: []string{a, "the Go name FooHandler generated for message bad.v1.Foo collides with message bad.v1.FooHandler", nameFix},
		},
		{
			name: "Go name clash of an event with a message",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.event) = {}; }
message PublishFoo {}`)},
			want: []string{a, "the Go name PublishFoo generated for message bad.v1.Foo collides with message bad.v1.PublishFoo", nameFix},
		},
		{
			name: "Go name clash with an enum",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.command) = {endpoint: "sales"}; }
enum FooType { FOO_TYPE_UNSPECIFIED = 0; }`)},
			want: []string{a, "the Go name FooType generated for message bad.v1.Foo collides with enum bad.v1.FooType", nameFix},
		},
		{
			name: "Go name clash with a oneof wrapper",
			srcs: map[string]string{a: contract(`
message Msg {
  message Foo { option (gobus.v1.event) = {}; }
  oneof kind { string foo_route = 1; }
}`)},
			want: []string{a, "the Go name Msg_FooRoute generated for message bad.v1.Msg.Foo collides with oneof field bad.v1.Msg.foo_route", nameFix},
		},
		{
			name: "Go name clash with a message in another file of the Go package",
			srcs: map[string]string{
				a: contract(`message Foo { option (gobus.v1.command) = {endpoint: "sales"}; }`),
				b: contract(`message FooRoute {}`),
			},
			want: []string{a, "the Go name FooRoute generated for message bad.v1.Foo collides with message bad.v1.FooRoute", nameFix},
		},
		{
			name: "Go name clash of two contracts",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.command) = {endpoint: "sales"}; }
message FooEndpoint {}
message Bar { option (gobus.v1.event) = {}; }`)},
			want: []string{a, "the Go name FooEndpoint generated for message bad.v1.Foo collides with message bad.v1.FooEndpoint", nameFix},
		},
		{
			name: "Go name clash of an endpoint with a command",
			srcs: map[string]string{a: contract(`message Sales { option (gobus.v1.command) = {endpoint: "sales"}; }`)},
			want: []string{a, `the Go name SalesHandler generated for endpoint "sales" of message bad.v1.Sales collides with the one generated for message bad.v1.Sales`, nameFix},
		},
		{
			name: "Go name clash of two endpoints",
			srcs: map[string]string{a: contract(`
message Foo { option (gobus.v1.command) = {endpoint: "order-service"}; }
message Bar { option (gobus.v1.command) = {endpoint: "order_service"}; }`)},
			want: []string{a, `the Go name OrderServiceHandler generated for endpoint "order_service" of message bad.v1.Bar collides with the one generated for endpoint "order-service" of message bad.v1.Foo`, nameFix},
		},
		{
			name: "endpoint set as a field of the option",
			srcs: map[string]string{a: contract(`message Foo {
  option (gobus.v1.command).endpoint = "sa les";
}`)},
			want: []string{a + ":6:3", "message bad.v1.Foo", `endpoint "sa les" is not a valid NATS subject token`},
		},
		{
			name: "subject too long",
			srcs: badCommandSubject(strings.Repeat("s", 6000)),
			want: []string{a + ":5:15", "message bad.v1.Foo", "subject is 6000 bytes long, and gobus allows at most 512", "fits in NATS's control line (4096 bytes by default)", "use a shorter subject, or leave it out"},
		},
		{
			name: "event subject too long",
			srcs: badEventSubject(strings.Repeat("a.", 300) + "b"),
			want: []string{a, "subject is 601 bytes long, and gobus allows at most 512"},
		},
		{
			name: "full name too long",
			srcs: map[string]string{a: contract(`message ` + strings.Repeat("F", 520) + ` { option (gobus.v1.event) = {}; }`)},
			want: []string{a + ":5:1", "the full name is 527 bytes long, and gobus allows at most 512 for a message type", "use a shorter package or message name"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkBadOption(t, tc.srcs, tc.want)
		})
	}
}

// checkBadOption generates srcs and checks that it fails, writing no file,
// with an error that starts with want[0], the position (a file alone
// stands for any line and column of it), and contains the rest of want.
func checkBadOption(t *testing.T, srcs map[string]string, want []string) {
	t.Helper()
	names := slices.Sorted(maps.Keys(srcs))
	resp := generateFiles(t, mapResolver(srcs), "module=example.com", names...)
	if resp.Error == nil {
		t.Fatalf("generation succeeded with %d files, want an error containing %q", len(resp.File), want)
	}
	if len(resp.File) > 0 {
		t.Errorf("the failed generation returned %d files", len(resp.File))
	}
	msg := resp.GetError()
	t.Log(msg)
	at := regexp.QuoteMeta(want[0])
	if !strings.Contains(want[0], ".proto:") {
		at += `:\d+:\d+` // the test names the file only
	}
	if !regexp.MustCompile(`^` + at + `: `).MatchString(msg) {
		t.Errorf("error does not start with the position %s:\n%s", at, msg)
	}
	for _, part := range want[1:] {
		if !strings.Contains(msg, part) {
			t.Errorf("error lacks %q:\n%s", part, msg)
		}
	}
}

// Every mistake of a run is reported, each at its place, one a line; not
// only the first.
func TestEveryMistakeReported(t *testing.T) {
	t.Parallel()
	srcs := map[string]string{
		"bad/v1/a.proto": contract(`
message NoEndpoint { option (gobus.v1.command) = {}; }
message BadBoth { option (gobus.v1.command) = {endpoint: "a b", subject: "x..y"}; }
message Fine { option (gobus.v1.event) = {}; }`),
		"bad/v1/b.proto": contract(`
message BadSubject { option (gobus.v1.event) = {subject: "*"}; }`),
	}
	resp := generateFiles(t, mapResolver(srcs), "module=example.com", "bad/v1/a.proto", "bad/v1/b.proto")
	if resp.Error == nil {
		t.Fatal("generation succeeded")
	}
	lines := strings.Split(resp.GetError(), "\n")
	want := []string{
		"bad/v1/a.proto:6:22: message bad.v1.NoEndpoint is a command without an endpoint",
		`bad/v1/a.proto:7:19: message bad.v1.BadBoth: endpoint "a b" is not a valid NATS subject token`,
		`bad/v1/a.proto:7:19: message bad.v1.BadBoth: subject "x..y" is not a valid NATS subject`,
		`bad/v1/b.proto:6:22: message bad.v1.BadSubject: subject "*" is not a valid NATS subject`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d errors, want %d:\n%s", len(lines), len(want), resp.GetError())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d:\n%s\nwant it to start with\n%s", i+1, lines[i], w)
		}
	}
}
