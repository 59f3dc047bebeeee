package genasyncapi_test

import (
	"strings"
	"testing"
)

const salesV1 = `syntax = "proto3";
package shop.sales.v1;
import "gobus/v1/options.proto";

// PlaceOrder asks sales to accept an order.
message PlaceOrder {
  option (gobus.v1.command) = {endpoint: "sales"};
  string order_id = 1;
}
`

// TestAddingAMessageAddsItToTheDocument adds a command and an event to a
// contract and checks that each gets its channel, operation and message,
// and that nothing else changes but the additions.
func TestAddingAMessageAddsItToTheDocument(t *testing.T) {
	t.Parallel()
	before := generate(t, mapResolver(map[string]string{"shop/sales/v1/sales.proto": salesV1}), "shop/sales/v1/sales.proto")["shop.sales.v1.yaml"]
	added := salesV1 + `
// CancelOrder asks sales to cancel an order.
message CancelOrder {
  option (gobus.v1.command) = {endpoint: "sales"};
  string order_id = 1;
}

// OrderCancelled tells the world that sales cancelled an order.
message OrderCancelled {
  option (gobus.v1.event) = {};
  string order_id = 1;
}
`
	after := generate(t, mapResolver(map[string]string{"shop/sales/v1/sales.proto": added}), "shop/sales/v1/sales.proto")["shop.sales.v1.yaml"]
	for _, want := range []string{
		"\n  CancelOrder:\n    address: \"{prefix}.cmd.sales.shop.sales.v1.CancelOrder\"\n",
		"\n  receiveCancelOrder:\n    action: receive\n",
		"\n    CancelOrder:\n      name: shop.sales.v1.CancelOrder\n",
		"\n  OrderCancelled:\n    address: \"{prefix}.evt.shop.sales.v1.OrderCancelled\"\n",
		"\n  sendOrderCancelled:\n    action: send\n",
		"\n    OrderCancelled:\n      name: shop.sales.v1.OrderCancelled\n",
		"message OrderCancelled {\n",
	} {
		if strings.Contains(before, want) {
			t.Fatalf("the document has %q before the message is added", want)
		}
		if !strings.Contains(after, want) {
			t.Errorf("after adding the messages, the document lacks %q:\n%s", want, after)
		}
	}
	// The retry channel of sales takes the new command too.
	if !strings.Contains(after, "  sales_retry:\n") || strings.Count(after, "$ref: \"#/components/messages/CancelOrder\"") != 2 {
		t.Errorf("the new command is not on its own channel and the sales retry channel:\n%s", after)
	}
	for _, line := range strings.Split(before, "\n") {
		if !strings.Contains(after, line) {
			t.Errorf("line %q of the document is gone after adding messages", line)
		}
	}
}

// TestMistakesAreReported: a command without an endpoint fails the
// generation, naming the file and the message.
func TestMistakesAreReported(t *testing.T) {
	t.Parallel()
	src := strings.Replace(salesV1, `{endpoint: "sales"}`, `{}`, 1)
	files := compile(t, mapResolver(map[string]string{"shop/sales/v1/sales.proto": src}), "shop/sales/v1/sales.proto")
	resp := run(t, request(t, files))
	if !strings.Contains(resp.GetError(), "shop/sales/v1/sales.proto: command shop.sales.v1.PlaceOrder names no endpoint") {
		t.Errorf("error %q does not name the file and the command", resp.GetError())
	}
}
