package gengobus_test

import "testing"

// TestBadReplies checks each mistake in a command's replies, and in the
// reply option, as TestBadOptions does for the other options.
func TestBadReplies(t *testing.T) {
	const a = "bad/v1/a.proto"
	withReplies := func(replies, rest string) map[string]string {
		return map[string]string{a: contract(`message Foo { option (gobus.v1.command) = {endpoint: "sales", replies: [` + replies + `]}; }
` + rest)}
	}
	const plainFix = "it must be a plain message or one marked option (gobus.v1.reply) = {}"
	tests := []struct {
		name string
		srcs map[string]string
		want []string
	}{
		{
			name: "reply that is no message",
			srcs: withReplies(`"Missing"`, ""),
			want: []string{a + ":5:15", "message bad.v1.Foo", `names reply "Missing", which is not a message of bad/v1/a.proto or of a file it imports`, `by its full name ("bad.v1.Missing") or by its name in package bad.v1`},
		},
		{
			name: "reply in a package of its own that is not imported",
			srcs: withReplies(`"other.v1.Done"`, ""),
			want: []string{a, `names reply "other.v1.Done", which is not a message`},
		},
		{
			name: "reply in a file of the package that is not imported",
			srcs: map[string]string{
				a:                contract(`message Foo { option (gobus.v1.command) = {endpoint: "sales", replies: ["Done"]}; }`),
				"bad/v1/b.proto": contract(`message Done {}`),
			},
			want: []string{a, `names reply "Done", which is not a message of bad/v1/a.proto or of a file it imports`},
		},
		{
			name: "reply that is a command",
			srcs: withReplies(`"Bar"`, `message Bar { option (gobus.v1.command) = {endpoint: "billing"}; }`),
			want: []string{a, "message bad.v1.Foo names reply bad.v1.Bar, which is a command", plainFix},
		},
		{
			name: "reply that is an event",
			srcs: withReplies(`"Done"`, `message Done { option (gobus.v1.event) = {}; }`),
			want: []string{a, "names reply bad.v1.Done, which is an event", plainFix},
		},
		{
			name: "command that replies with itself",
			srcs: withReplies(`"Foo"`, ""),
			want: []string{a, "names reply bad.v1.Foo, which is a command"},
		},
		{
			name: "reply named twice",
			srcs: withReplies(`"Done", ".bad.v1.Done"`, `message Done {}`),
			want: []string{a, "names reply bad.v1.Done twice", "leave one of them out"},
		},
		{
			name: "empty reply name",
			srcs: withReplies(`""`, ""),
			want: []string{a, "names an empty reply", `as in replies: ["OrderAccepted"]`},
		},
		{
			name: "reply marked an event too",
			srcs: map[string]string{a: contract(`message Done {
  option (gobus.v1.event) = {};
  option (gobus.v1.reply) = {};
}`)},
			want: []string{a + ":7:3", "message bad.v1.Done is marked both a reply and an event", "keep option (gobus.v1.reply) if it answers a command"},
		},
		{
			name: "reply marked a command too",
			srcs: map[string]string{a: contract(`message Done {
  option (gobus.v1.command) = {endpoint: "sales"};
  option (gobus.v1.reply) = {};
}`)},
			want: []string{a, "message bad.v1.Done is marked both a reply and a command"},
		},
		{
			name: "Go name clash of the request's result with a message",
			srcs: withReplies(`"Done", "Failed"`, `message Done {}
message Failed {}
message FooReply {}`),
			want: []string{a, "the Go name FooReply generated for the replies of message bad.v1.Foo collides with message bad.v1.FooReply"},
		},
		{
			name: "Go name clash of a reply route with a message",
			srcs: withReplies(`"Done"`, `message Done {}
message DoneReplyRoute {}`),
			want: []string{a, "the Go name DoneReplyRoute generated for reply bad.v1.Done collides with message bad.v1.DoneReplyRoute"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkBadOption(t, tc.srcs, tc.want)
		})
	}
}
