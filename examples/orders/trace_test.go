package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// traceLine is a line of the printed trace: its start and duration, the
// tree's drawing, and the span's label.
var traceLine = regexp.MustCompile(`^  \+\d+\.\d{3}s +\S+  ((?:[│├└─ ]{3})*)(.+)$`)

// -trace prints the trace of the first order as a tree that follows the
// order through every endpoint, the failed try of billing included. Not
// parallel: -trace installs the global tracer provider, which the other
// tests' runs would record into.
func TestTraceFlagPrintsTheTreeOfAnOrder(t *testing.T) {
	var out syncBuffer
	cfg := mustConfig(t, "-trace", "-orders", "2", "-fail-billing", "1", "-store", t.TempDir(), "-timeout", "30s")
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	_, tree, ok := strings.Cut(text, "\ntrace ")
	if !ok {
		t.Fatalf("no trace printed:\n%s", text)
	}
	parentOf := map[string]string{}
	var stack []string // the labels on the way to the current line
	for _, line := range strings.Split(strings.TrimSpace(tree), "\n")[1:] {
		m := traceLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %q is not a span of the tree:\n%s", line, tree)
		}
		depth := utf8.RuneCountInString(m[1]) / 3
		if depth > len(stack) {
			t.Fatalf("line %q is nested under no span:\n%s", line, tree)
		}
		stack = append(stack[:depth], m[2])
		if depth > 0 {
			parentOf[m[2]] = stack[depth-1]
		} else {
			parentOf[m[2]] = ""
		}
	}
	failed := "billing process OrderPlaced failed: card processor unavailable (attempt 1); next: retry-now"
	for child, parent := range map[string]string{
		"storefront send PlaceOrder":              "",
		"sales process PlaceOrder":                "storefront send PlaceOrder",
		"sales reply OrderAccepted":               "sales process PlaceOrder",
		"sales publish OrderPlaced":               "sales process PlaceOrder",
		failed:                                    "sales publish OrderPlaced",
		"billing process OrderPlaced (attempt 2)": "sales publish OrderPlaced",
		"shipping process OrderPlaced":            "sales publish OrderPlaced",
		"billing publish OrderBilled":             "billing process OrderPlaced (attempt 2)",
		"shipping process OrderBilled":            "billing publish OrderBilled",
		"shipping process DispatchParcel":         "shipping send DispatchParcel",
		"shipping publish OrderShipped":           "shipping process DispatchParcel",
		"storefront process OrderShipped":         "shipping publish OrderShipped",
	} {
		got, ok := parentOf[child]
		if !ok {
			t.Errorf("no span %q in the tree:\n%s", child, tree)
		} else if got != parent {
			t.Errorf("span %q is under %q, want %q:\n%s", child, got, parent, tree)
		}
	}
	// Shipping packs the parcel when it has seen both events, whichever
	// came second.
	if p := parentOf["shipping send DispatchParcel"]; p != "shipping process OrderPlaced" && p != "shipping process OrderBilled" {
		t.Errorf("shipping's send of DispatchParcel is under %q, want one of its process spans:\n%s", p, tree)
	}
	// The shipping saga requests its BillingOverdue timeout when the order
	// is placed before it is billed, under OrderPlaced's span.
	want := 13
	if p, ok := parentOf["shipping send BillingOverdue"]; ok {
		want++
		if p != "shipping process OrderPlaced" {
			t.Errorf("the BillingOverdue timeout is under %q, want shipping process OrderPlaced:\n%s", p, tree)
		}
	}
	if len(parentOf) != want || !strings.Contains(tree, fmt.Sprintf(", %d spans (", want)) {
		t.Errorf("%d spans in the tree, want %d:\n%s", len(parentOf), want, tree)
	}
}
