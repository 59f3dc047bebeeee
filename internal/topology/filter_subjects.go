package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Bounds of filtered events, so that an event subject stays within the
// control-line budget of limits.go: at most MaxFilterFields tokens of at
// most MaxFilterTokenLength bytes each after the event's subject.
const (
	// MaxFilterFields is the most filter fields an event may name.
	MaxFilterFields = 4
	// MaxFilterTokenLength is the longest subject token of a filter
	// field's value; longer ones are hashed (see [FilterToken]).
	MaxFilterTokenLength = 64
)

// FilterToken turns a filter field's value, written as text (a string as
// it is, a bool as "true" or "false", an integer or an enum's number in
// decimal), into a subject token that any value maps to and no two
// values share:
//
//   - the bytes A-Z, a-z, 0-9, '-' and '_' stay as they are;
//   - every other byte of the value's UTF-8 becomes '~' and two
//     upper-case hex digits ("eu.west" is "eu~2Ewest", "~" is "~7E");
//   - the empty value is "~" alone;
//   - a token that would be longer than [MaxFilterTokenLength] bytes is
//     "~~" and the first 32 lower-case hex digits of the value's SHA-256.
//
// docs/wire.md states the same rules for other languages.
func FilterToken(text string) string {
	if text == "" {
		return "~"
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if tokenByte(c) {
			b.WriteByte(c)
			continue
		}
		const hexDigits = "0123456789ABCDEF"
		b.WriteByte('~')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0f])
	}
	if b.Len() > MaxFilterTokenLength {
		sum := sha256.Sum256([]byte(text))
		return "~~" + hex.EncodeToString(sum[:16])
	}
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// FilteredEventSubject is the subject of an event whose filter fields'
// tokens are tokens: the event's subject, then the tokens.
func (n Names) FilteredEventSubject(suffix string, tokens []string) string {
	return n.EventSubject(suffix) + "." + strings.Join(tokens, ".")
}

// EventFilterSubjects are the consumer filter subjects of a subscription
// to the event on subject suffix, which has fields filter fields, taking
// the events that match one of filters. A filter holds a token per field,
// "" for any value.
//
// An event without filter fields has the one subject it is published on.
// An event with filter fields, subscribed to without a filter (or with
// one that takes any value of every field), has two: its subject
// followed by anything, and its subject alone, which events published
// before the contract named filter fields were published on. Otherwise
// each filter is the subject and its tokens, '*' for any value, a '>' for
// the trailing ones, so that a field added to the contract later does not
// hide events. A filter that another one takes in whole is left out;
// filters that partly overlap are an error, since a JetStream consumer's
// filters must not overlap.
func (n Names) EventFilterSubjects(suffix string, fields int, filters [][]string) ([]string, error) {
	base := n.EventSubject(suffix)
	if fields == 0 {
		return []string{base}, nil
	}
	kept, err := keepFilters(filters)
	if err != nil {
		return nil, err
	}
	if len(kept) == 0 || allAny(kept[0]) {
		return []string{base, base + ".>"}, nil
	}
	out := make([]string, 0, len(kept))
	for _, f := range kept {
		out = append(out, filterSubject(base, f))
	}
	return out, nil
}

// keepFilters drops the filters that another one takes in whole, and
// refuses filters that partly overlap.
func keepFilters(filters [][]string) ([][]string, error) {
	var kept [][]string
next:
	for i, f := range filters {
		for j, g := range filters {
			if i != j && covers(g, f) && (!covers(f, g) || j < i) {
				continue next // g takes every event f takes
			}
		}
		for _, g := range kept {
			if overlap(f, g) {
				return nil, fmt.Errorf("filters %s and %s overlap: an event can match both, and a JetStream consumer's filter subjects must not overlap; make them disjoint (give both a value for the same field) or drop one", showFilter(g), showFilter(f))
			}
		}
		kept = append(kept, f)
	}
	return kept, nil
}

// covers reports whether filter a takes every event that b takes.
func covers(a, b []string) bool {
	for i := range a {
		if a[i] != "" && a[i] != b[i] {
			return false
		}
	}
	return true
}

// overlap reports whether an event can match both a and b.
func overlap(a, b []string) bool {
	for i := range a {
		if a[i] != "" && b[i] != "" && a[i] != b[i] {
			return false
		}
	}
	return true
}

func allAny(f []string) bool {
	for _, t := range f {
		if t != "" {
			return false
		}
	}
	return true
}

// filterSubject is base and f's tokens, '*' for any, the trailing ones as
// one '>'.
func filterSubject(base string, f []string) string {
	last := len(f)
	for last > 0 && f[last-1] == "" {
		last--
	}
	var b strings.Builder
	b.WriteString(base)
	for _, t := range f[:last] {
		b.WriteByte('.')
		if t == "" {
			t = "*"
		}
		b.WriteString(t)
	}
	if last < len(f) {
		b.WriteString(".>")
	}
	return b.String()
}

func showFilter(f []string) string {
	parts := make([]string, len(f))
	for i, t := range f {
		parts[i] = t
		if t == "" {
			parts[i] = "*"
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
