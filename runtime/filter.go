package gobus

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/gobusdev/gobus/internal/topology"
)

// FilterValue is the Go type of an event's filter field: a string, a bool,
// a 32- or 64-bit integer, or a generated enum type.
type FilterValue interface {
	~string | ~bool | ~int32 | ~int64 | ~uint32 | ~uint64
}

// Match is a filter's condition on one filter field of an event. The zero
// Match takes every value; [Is] takes one. The generated XFilter types hold
// one Match per filter field the contract names.
type Match[T FilterValue] struct {
	token string // the value's subject token; "" takes any
}

// Is is the condition that a filter field equals v. Is("") takes the
// events whose field is empty, which the zero Match does not single out.
func Is[T FilterValue](v T) Match[T] {
	return Match[T]{token: topology.FilterToken(filterText(reflect.ValueOf(v)))}
}

// filterText is v as the text its subject token escapes: a string as it
// is, a bool as "true" or "false", an integer or an enum's number in
// decimal.
func filterText(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return fmt.Sprint(v.Bool())
	case reflect.Int32, reflect.Int64:
		return fmt.Sprint(v.Int())
	default:
		return fmt.Sprint(v.Uint())
	}
}

func (m Match[T]) filterToken() string { return m.token }

// String returns "*" for the zero Match, else the subject token of its
// value.
func (m Match[T]) String() string {
	if m.token == "" {
		return "*"
	}
	return m.token
}

// Condition is one field's condition in a [Filter]: a [Match].
type Condition interface{ filterToken() string }

// Filter is one subscription filter of an event: a condition per filter
// field, in the contract's order. The endpoint's consumer on the events
// stream takes only the events that match one of a handler's filters; the
// server does the filtering. The generated XFilter types make one with
// their Filter method; users write those, not Filter.
type Filter struct {
	tokens []string // per field, "" for any
}

// NewFilter returns the filter of conds, one per filter field of the
// event in the contract's order. Generated code calls it.
func NewFilter(conds ...Condition) Filter {
	f := Filter{tokens: make([]string, len(conds))}
	for i, c := range conds {
		f.tokens[i] = c.filterToken()
	}
	return f
}

// Filters turns the generated filters of a registration into the
// runtime's, for [HandleEvent].
func Filters[F interface{ Filter() Filter }](fs []F) []Filter {
	out := make([]Filter, len(fs))
	for i, f := range fs {
		out[i] = f.Filter()
	}
	return out
}

// String shows f as the tokens its subject filter ends with, such as
// "eu.*".
func (f Filter) String() string {
	parts := make([]string, len(f.tokens))
	for i, t := range f.tokens {
		parts[i] = anyToken(t)
	}
	return strings.Join(parts, ".")
}

func anyToken(t string) string {
	if t == "" {
		return "*"
	}
	return t
}
