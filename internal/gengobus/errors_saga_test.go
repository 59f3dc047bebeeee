package gengobus_test

import "testing"

// TestBadSagas checks each mistake in a saga option, as TestBadOptions
// does for the other options: the error names the file, line and column,
// the saga and the fix, and no file is written.
func TestBadSagas(t *testing.T) {
	const (
		a = "bad/v1/a.proto"
		b = "bad/v1/b.proto"
	)
	// events are the messages the sagas below handle.
	const events = `
message Placed { option (gobus.v1.event) = {}; string order_id = 1; int64 number = 2; }
message Billed { option (gobus.v1.event) = {}; string order_id = 1; string order = 2; }
message Cancel { option (gobus.v1.command) = {endpoint: "shipping"}; string order_id = 1; }
message Overdue {}
`
	// state declares ShipState, correlated by its string order_id,
	// with the saga option opt, and the events.
	state := func(opt string) map[string]string {
		return map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {` + opt + `}; string order_id = 1; }` + events)}
	}
	// field declares a saga correlated by a field declared as decl.
	field := func(decl string) map[string]string {
		return map[string]string{a: contract(`message ShipState {
  option (gobus.v1.saga) = {correlation: "key", handles: [{message: "Placed", field: "order_id", starts: true}]};
  ` + decl + `
}` + events)}
	}
	const (
		starts    = `handles: [{message: "Placed", starts: true}]`
		kindFix   = "it must be a singular string or integer field (string, int32, int64, uint32, uint64, sint*, fixed*, sfixed*) outside any oneof"
		plainFix  = "a timeout goes only to the saga's own endpoint, so it must be a plain message"
		nameClash = "rename one of the messages or endpoints"
	)
	tests := []struct {
		name string
		srcs map[string]string
		want []string
	}{
		{
			name: "no correlation",
			srcs: state(starts),
			want: []string{a + ":5:21", "saga bad.v1.ShipState has no correlation", `name the state field that identifies an instance, as in option (gobus.v1.saga) = { correlation: "order_id" }`},
		},
		{
			name: "correlation that is no field of the state",
			srcs: state(`correlation: "id", ` + starts),
			want: []string{a, `saga bad.v1.ShipState: correlation "id" is not a field of ShipState`, "name the state field that identifies an instance (order_id), or add it to the message"},
		},
		{
			name: "repeated correlation field",
			srcs: field(`repeated string key = 1;`),
			want: []string{a + ":6:3", "correlation field bad.v1.ShipState.key is repeated", kindFix},
		},
		{
			name: "map correlation field",
			srcs: field(`map<string, string> key = 1;`),
			want: []string{a, "correlation field bad.v1.ShipState.key is a map", kindFix},
		},
		{
			name: "message correlation field",
			srcs: field(`Overdue key = 1;`),
			want: []string{a, "correlation field bad.v1.ShipState.key is of type bad.v1.Overdue", kindFix},
		},
		{
			name: "bytes correlation field",
			srcs: field(`bytes key = 1;`),
			want: []string{a, "correlation field bad.v1.ShipState.key is of type bytes", kindFix},
		},
		{
			name: "float correlation field",
			srcs: field(`double key = 1;`),
			want: []string{a, "correlation field bad.v1.ShipState.key is of type double", kindFix},
		},
		{
			name: "bool correlation field",
			srcs: field(`bool key = 1;`),
			want: []string{a, "correlation field bad.v1.ShipState.key is of type bool, which has two values, so the saga could never have more than two instances", kindFix},
		},
		{
			name: "enum correlation field",
			srcs: field(`enum Kind { KIND_UNSPECIFIED = 0; } Kind key = 1;`),
			want: []string{a, "correlation field bad.v1.ShipState.key is of type enum bad.v1.ShipState.Kind", kindFix},
		},
		{
			name: "correlation field in a oneof",
			srcs: field(`oneof k { string key = 1; int64 other = 2; }`),
			want: []string{a, "correlation field bad.v1.ShipState.key is in oneof k", kindFix},
		},
		{
			name: "handled message that is no message",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", starts: true}, {message: "Shipped"}]`),
			want: []string{a, `saga bad.v1.ShipState handles "Shipped", which is not a message of bad/v1/a.proto or of a file it imports`, `name a command or an event by its full name ("bad.v1.Shipped") or by its name in package bad.v1, and import its file`},
		},
		{
			name: "handled message in a file that is not imported",
			srcs: map[string]string{
				a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", handles: [{message: "Placed", starts: true}]}; string order_id = 1; }`),
				b: contract(`message Placed { option (gobus.v1.event) = {}; string order_id = 1; }`),
			},
			want: []string{a, `saga bad.v1.ShipState handles "Placed", which is not a message of bad/v1/a.proto or of a file it imports`},
		},
		{
			name: "handled message without a name",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", starts: true}, {field: "order_id"}]`),
			want: []string{a, "saga bad.v1.ShipState handles a message without a name", `as in handles: [{ message: "OrderPlaced" }], or leave the entry out`},
		},
		{
			name: "handled message that is neither a command nor an event",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", starts: true}, {message: "Overdue"}]`),
			want: []string{a, "saga bad.v1.ShipState handles bad.v1.Overdue, which is neither a command nor an event", "if the saga schedules Overdue to itself, list it under timeouts instead"},
		},
		{
			name: "handled message without the correlation field",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", handles: [{message: "Placed", starts: true}]}; string order_id = 1; }
message Placed { option (gobus.v1.event) = {}; string id = 1; int64 total = 2; }`)},
			want: []string{a, `saga bad.v1.ShipState handles bad.v1.Placed, which has no field "order_id" to correlate it with the state's order_id`, `name the field of Placed that holds the order_id value, as in { message: "Placed", field: "..." } (its fields: id, total), or add the field`},
		},
		{
			name: "handled message without the field it names",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", field: "order", starts: true}]`),
			want: []string{a, `saga bad.v1.ShipState handles bad.v1.Placed, which has no field "order"`, "(its fields: order_id, number)"},
		},
		{
			name: "handled message correlated by a field of another type",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", field: "number", starts: true}]`),
			want: []string{a, "saga bad.v1.ShipState handles bad.v1.Placed by field bad.v1.Placed.number, which is int64, but the state's correlation field bad.v1.ShipState.order_id is string", "correlate fields of the same type, or change one of them"},
		},
		{
			name: "handled message correlated by a repeated field",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", handles: [{message: "Placed", starts: true}]}; string order_id = 1; }
message Placed { option (gobus.v1.event) = {}; repeated string order_id = 1; }`)},
			want: []string{a, "saga bad.v1.ShipState handles bad.v1.Placed by field order_id, which is repeated", "correlate it by a singular string or integer field outside any oneof, of the same type as the state's order_id (string)"},
		},
		{
			name: "no message starts the saga",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed"}, {message: "Billed"}]`),
			want: []string{a, "saga bad.v1.ShipState: no message starts it, so no instance could ever exist", "mark the messages that may begin the process with starts: true", "the runtime sets the state's correlation field from the starting message"},
		},
		{
			name: "no handled messages",
			srcs: state(`correlation: "order_id"`),
			want: []string{a, "saga bad.v1.ShipState: no message starts it"},
		},
		{
			name: "message listed twice",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", starts: true}, {message: ".bad.v1.Placed"}]`),
			want: []string{a, "saga bad.v1.ShipState lists bad.v1.Placed twice in handles", "list each message once, with starts: true if it may start an instance"},
		},
		{
			name: "if_missing on a starting message",
			srcs: state(`correlation: "order_id", handles: [{message: "Placed", starts: true, if_missing: SAGA_IF_MISSING_FAIL}]`),
			want: []string{a, "saga bad.v1.ShipState: bad.v1.Placed starts the saga and sets if_missing SAGA_IF_MISSING_FAIL", "if_missing applies only to messages that do not start it; leave if_missing out"},
		},
		{
			name: "timeout that is no message",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: ["Late"]`),
			want: []string{a, `saga bad.v1.ShipState names timeout "Late", which is not a message of bad/v1/a.proto or of a file it imports`, `by its full name ("bad.v1.Late")`},
		},
		{
			name: "empty timeout",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: [""]`),
			want: []string{a, "saga bad.v1.ShipState names an empty timeout", `as in timeouts: ["BillingOverdue"]`},
		},
		{
			name: "timeout that is an event",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: ["Billed"]`),
			want: []string{a, "saga bad.v1.ShipState names timeout bad.v1.Billed, which is an event", plainFix},
		},
		{
			name: "timeout that is a command",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: ["Cancel"]`),
			want: []string{a, "saga bad.v1.ShipState names timeout bad.v1.Cancel, which is a command", plainFix},
		},
		{
			name: "timeout marked a reply",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `, timeouts: ["Done"]}; string order_id = 1; }
message Done { option (gobus.v1.reply) = {}; }` + events)},
			want: []string{a, "saga bad.v1.ShipState names timeout bad.v1.Done, which is a reply", plainFix},
		},
		{
			name: "timeout that a command names as a reply",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `, timeouts: ["Done"]}; string order_id = 1; }
message Ship { option (gobus.v1.command) = {endpoint: "shipping", replies: ["Done"]}; }
message Done {}` + events)},
			want: []string{a, "saga bad.v1.ShipState names timeout bad.v1.Done, which command bad.v1.Ship names as a reply", "declare a message of its own for the timeout"},
		},
		{
			name: "timeout that the saga also handles",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: ["Placed"]`),
			want: []string{a, "saga bad.v1.ShipState names timeout bad.v1.Placed, which it also handles", "list it in one place only"},
		},
		{
			name: "timeout listed twice",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: ["Overdue", "bad.v1.Overdue"]`),
			want: []string{a, "saga bad.v1.ShipState names timeout bad.v1.Overdue twice", "leave one of them out"},
		},
		{
			name: "the state as its own timeout",
			srcs: state(`correlation: "order_id", ` + starts + `, timeouts: ["ShipState"]`),
			want: []string{a, "saga bad.v1.ShipState names its own state as a timeout", "declare a message of its own for the timeout"},
		},
		{
			name: "state that is an event",
			srcs: map[string]string{a: contract(`message ShipState {
  option (gobus.v1.event) = {};
  option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `};
  string order_id = 1;
}` + events)},
			want: []string{a + ":7:3", "saga bad.v1.ShipState: the state of a saga is kept by the saga, never sent, so it cannot be an event as well", "declare a message of its own for the saga's state"},
		},
		{
			name: "state that is a command",
			srcs: map[string]string{a: contract(`message ShipState {
  option (gobus.v1.command) = {endpoint: "shipping"};
  option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `};
  string order_id = 1;
}` + events)},
			want: []string{a, "saga bad.v1.ShipState: the state of a saga is kept by the saga, never sent, so it cannot be a command as well"},
		},
		{
			name: "state that is a reply",
			srcs: map[string]string{a: contract(`message ShipState {
  option (gobus.v1.reply) = {};
  option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `};
  string order_id = 1;
}` + events)},
			want: []string{a, "so it cannot be a reply as well"},
		},
		{
			name: "name that makes no exported Go name",
			srcs: state(`name: "shipping", correlation: "order_id", ` + starts),
			want: []string{a, `saga bad.v1.ShipState: name "shipping" does not make exported Go names`, `as in name: "Shipping" (for ShippingSaga), or leave it out to use "Ship"`},
		},
		{
			name: "two handled messages of one Go name",
			srcs: map[string]string{
				a: contract(`import "other/v1/b.proto";
message ShipState { option (gobus.v1.saga) = {correlation: "order_id", handles: [{message: "Placed", starts: true}, {message: "other.v1.Placed"}]}; string order_id = 1; }` + events),
				"other/v1/b.proto": `syntax = "proto3";
package other.v1;
import "gobus/v1/options.proto";
option go_package = "example.com/other/v1;otherv1";
message Placed { option (gobus.v1.event) = {}; string order_id = 1; }`,
			},
			want: []string{a, "saga bad.v1.ShipState: bad.v1.Placed and other.v1.Placed would both have the method HandlePlaced of ShipSaga", "handle one of them in a saga of its own, or rename one"},
		},
		{
			name: "commands of two endpoints",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", handles: [{message: "Cancel", starts: true}, {message: "Refund"}]}; string order_id = 1; }
message Refund { option (gobus.v1.command) = {endpoint: "billing"}; string order_id = 1; }` + events)},
			want: []string{a, `saga bad.v1.ShipState handles command bad.v1.Cancel of endpoint "shipping" and command bad.v1.Refund of endpoint "billing"`, "every command it handles must be sent to that endpoint; route them to one endpoint, or split the saga"},
		},
		{
			name: "Go name clash of a saga with a message",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `}; string order_id = 1; }
message ShipSaga {}` + events)},
			want: []string{a + ":5:21", "the Go name ShipSaga generated for saga bad.v1.ShipState collides with message bad.v1.ShipSaga", nameClash},
		},
		{
			name: "Go name clash of a timeout helper with a message",
			srcs: map[string]string{a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `, timeouts: ["Overdue"]}; string order_id = 1; }
message RequestShipOverdue {}` + events)},
			want: []string{a, "the Go name RequestShipOverdue generated for saga bad.v1.ShipState collides with message bad.v1.RequestShipOverdue", nameClash},
		},
		{
			name: "two sagas of one name in a Go package",
			srcs: map[string]string{
				a: contract(`message ShipState { option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `}; string order_id = 1; }` + events),
				b: contract(`import "bad/v1/a.proto";
message ShipData { option (gobus.v1.saga) = {correlation: "order_id", ` + starts + `}; string order_id = 1; }`),
			},
			want: []string{b, "saga bad.v1.ShipData is named Ship, as saga bad.v1.ShipState of the same Go package is, so both would declare ShipSaga", `give one of them a name of its own, as in option (gobus.v1.saga) = { name: "ExpressShip" }`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkBadOption(t, tc.srcs, tc.want)
		})
	}
}
