package ui

import "testing"

func TestMask(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"card processor unavailable (attempt 5)", "card processor unavailable (attempt #)"},
		{"card declined for order 7F3A-02", "card declined for order #"},
		{"order 3b2c1f9e-5a8d-4c3e-9f1a-0b2c3d4e5f60 not found", "order #uuid not found"},
		{"timeout after 2.5s on 10.0.0.7:4222", "timeout after # on #"},
		{"bad pointer 0xc000123abc", "bad pointer #"},
		{"shop.sales.v1.PlaceOrder has no handler", "shop.sales.v1.PlaceOrder has no handler"},
		{"deadbeef00 mismatched", "# mismatched"},
		{"  spaces\tand\nnewlines 12 ", "spaces and newlines #"},
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
