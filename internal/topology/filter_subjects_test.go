package topology

import (
	"slices"
	"strings"
	"testing"
)

// TestFilterToken checks the escaping docs/wire.md documents: safe bytes
// kept, others as ~XX, the empty value as ~, long values hashed, and no
// token with a '.', a wildcard or a space.
func TestFilterToken(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", MaxFilterTokenLength+1)
	tests := []struct{ in, want string }{
		{"eu", "eu"},
		{"EU-west_1", "EU-west_1"},
		{"", "~"},
		{"~", "~7E"},
		{"eu.west", "eu~2Ewest"},
		{"*", "~2A"},
		{">", "~3E"},
		{"a b", "a~20b"},
		{"Zürich", "Z~C3~BCrich"},
		{"-12", "-12"},
		{strings.Repeat("x", MaxFilterTokenLength), strings.Repeat("x", MaxFilterTokenLength)},
		// The first 16 bytes of SHA-256 of 65 x's, as Python's
		// hashlib.sha256(b"x"*65).hexdigest()[:32] computes them.
		{long, "~~9537c5fdf120482f7d58d25e9ed583f5"},
	}
	for _, tt := range tests {
		got := FilterToken(tt.in)
		if got != tt.want {
			t.Errorf("FilterToken(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.ContainsAny(got, ".*> \t") {
			t.Errorf("FilterToken(%q) = %q is not a safe token", tt.in, got)
		}
	}
	if FilterToken(long) == FilterToken(long+"y") {
		t.Error("two long values share a token")
	}
}

// TestEventFilterSubjects checks the consumer filter subjects of
// subscriptions with and without filters.
func TestEventFilterSubjects(t *testing.T) {
	t.Parallel()
	n := Names{Prefix: "gobus"}
	const base = "gobus.evt.shop.Placed"
	tests := []struct {
		name    string
		fields  int
		filters [][]string
		want    []string
		err     string
	}{
		{"no filter fields", 0, nil, []string{base}, ""},
		{"no filter", 2, nil, []string{base, base + ".>"}, ""},
		{"a filter that takes all", 2, [][]string{{"", ""}}, []string{base, base + ".>"}, ""},
		{"first field", 2, [][]string{{"eu", ""}}, []string{base + ".eu.>"}, ""},
		{"second field", 2, [][]string{{"", "2"}}, []string{base + ".*.2"}, ""},
		{"both", 2, [][]string{{"eu", "2"}}, []string{base + ".eu.2"}, ""},
		{"disjoint", 2, [][]string{{"eu", ""}, {"us", "2"}}, []string{base + ".eu.>", base + ".us.2"}, ""},
		{"subsumed", 2, [][]string{{"eu", "2"}, {"eu", ""}}, []string{base + ".eu.>"}, ""},
		{"duplicate", 1, [][]string{{"eu"}, {"eu"}}, []string{base + ".eu"}, ""},
		{"all subsumes", 2, [][]string{{"eu", ""}, {"", ""}}, []string{base, base + ".>"}, ""},
		{"overlap", 2, [][]string{{"eu", ""}, {"", "2"}}, nil, "filters (eu, *) and (*, 2) overlap"},
	}
	for _, tt := range tests {
		got, err := n.EventFilterSubjects("shop.Placed", tt.fields, tt.filters)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !slices.Equal(got, tt.want):
			t.Errorf("%s: subjects %v, want %v", tt.name, got, tt.want)
		}
	}
}
