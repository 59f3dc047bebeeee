package gengobus_test

import "testing"

// TestBadFilterFields checks each mistake in an event's filter fields,
// as TestBadOptions does for the other options: the file, line and
// column, the message, what is wrong and the fix.
func TestBadFilterFields(t *testing.T) {
	const a = "bad/v1/a.proto"
	withFilter := func(fields, body string) map[string]string {
		return map[string]string{a: contract(`message Foo {
  option (gobus.v1.event) = {filter_fields: [` + fields + `]};
` + body + `
}`)}
	}
	const scalarFix = "name a singular string, integer, bool or enum field, or add one that holds what subscribers filter on"
	tests := []struct {
		name string
		srcs map[string]string
		want []string
	}{
		{
			name: "field that does not exist",
			srcs: withFilter(`"region"`, `  string id = 1;`),
			want: []string{a + ":6:3", "message bad.v1.Foo", `filter field "region" is not a field of the message`, "name one of its fields (id), by its proto name"},
		},
		{
			name: "field named by its JSON name",
			srcs: withFilter(`"orderRegion"`, `  string order_region = 1;`),
			want: []string{a, `filter field "orderRegion" is not a field of the message`, "(order_region)"},
		},
		{
			name: "repeated field",
			srcs: withFilter(`"tags"`, `  repeated string tags = 1;`),
			want: []string{a, `filter field "tags" is repeated`, scalarFix},
		},
		{
			name: "map field",
			srcs: withFilter(`"labels"`, `  map<string, string> labels = 1;`),
			want: []string{a, `filter field "labels" is a map`, scalarFix},
		},
		{
			name: "message field",
			srcs: withFilter(`"address"`, `  Address address = 1;
  message Address { string city = 1; }`),
			want: []string{a, `filter field "address" is a message`, scalarFix},
		},
		{
			name: "bytes field",
			srcs: withFilter(`"blob"`, `  bytes blob = 1;`),
			want: []string{a, `filter field "blob" is a bytes`, scalarFix},
		},
		{
			name: "float field",
			srcs: withFilter(`"weight"`, `  double weight = 1;`),
			want: []string{a, `filter field "weight" is a double`, scalarFix},
		},
		{
			name: "field in a oneof",
			srcs: withFilter(`"eu"`, `  oneof where { string eu = 1; string us = 2; }`),
			want: []string{a, `filter field "eu" is in oneof where`, scalarFix},
		},
		{
			name: "field named twice",
			srcs: withFilter(`"region", "region"`, `  string region = 1;`),
			want: []string{a, `names filter field "region" twice`, "name each field once"},
		},
		{
			name: "too many fields",
			srcs: withFilter(`"a", "b", "c", "d", "e"`, `  string a = 1; string b = 2; string c = 3; string d = 4; string e = 5;`),
			want: []string{a, "names 5 filter fields, and gobus allows at most 4", "keep the fields subscribers filter on most"},
		},
		{
			name: "event under a filtered event's subject",
			srcs: map[string]string{a: contract(`message Foo {
  option (gobus.v1.event) = {subject: "foo", filter_fields: ["region"]};
  string region = 1;
}
message Bar { option (gobus.v1.event) = {subject: "foo.eu"}; }`)},
			want: []string{a + ":9:15", "message bad.v1.Bar routes to subject <prefix>.evt.foo.eu, under the subject of event bad.v1.Foo", "give one of them another subject with the subject option"},
		},
		{
			name: "Go name clash of the filter type with a message",
			srcs: map[string]string{a: contract(`message Foo {
  option (gobus.v1.event) = {filter_fields: ["region"]};
  string region = 1;
}
message FooFilter {}`)},
			want: []string{a, "the Go name FooFilter generated for message bad.v1.Foo collides with message bad.v1.FooFilter", "rename one of the messages"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkBadOption(t, tc.srcs, tc.want)
		})
	}
}
