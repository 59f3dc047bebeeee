// A TypeScript storefront: requests PlaceOrder from the sales endpoint,
// prints its OrderAccepted reply, and waits for the order's OrderPlaced and
// OrderBilled, whichever endpoints publish them. It also sends a second
// order asking for the reply in its own queue, a durable reply. node dist/examples/orders/storefront.js <order id>
// (GOBUS_URL names the server).

import { create } from "@bufbuild/protobuf";
import { Client, Endpoint } from "@gobusdev/gobus";
import { PlaceOrderSchema } from "../../gen/shop/sales/v1/sales_pb.js";
import { registerOrderPlacedHandler, registerPlaceOrderReplyHandler, requestPlaceOrder, sendPlaceOrder } from "../../gen/shop/sales/v1/sales_gobus.js";
import { registerOrderBilledHandler } from "../../gen/shop/billing/v1/billing_gobus.js";
import { received, report } from "./report.js";

const orderId = process.argv[2] ?? "o-1001";
const client = await Client.connect({ source: "storefront-ts" });
const ep = new Endpoint(client, "storefront-ts");
const durableId = orderId + "-durable";
const seen = new Set<string>();
let done!: () => void;
const all = new Promise<void>((resolve) => (done = resolve));
function note(type: string) {
  seen.add(type);
  if (seen.size === 3) done();
}
registerOrderPlacedHandler(ep, {
  async handleOrderPlaced(ctx, e) {
    if (e.orderId !== orderId) return;
    received(ctx, e.orderId, { totalCents: e.totalCents });
    note(ctx.type);
  },
});
registerOrderBilledHandler(ep, {
  async handleOrderBilled(ctx, e) {
    if (e.orderId !== orderId) return;
    received(ctx, e.orderId, { amountCents: e.amountCents });
    note(ctx.type);
  },
});
registerPlaceOrderReplyHandler(ep, {
  async handleOrderAcceptedReply(ctx, r) {
    received(ctx, r.orderId, { totalCents: r.totalCents, subject: ctx.subject });
    if (r.orderId === durableId) note("durable reply");
  },
});
// Subscribe before sending: a new subscription gets the events published after it.
await ep.start();
const order = create(PlaceOrderSchema, { orderId, items: [{ sku: "mug", quantity: 2, unitPriceCents: 1250n }] });
// The order id is the message id: a retried send is one order.
const accepted = await requestPlaceOrder(client, order, { messageId: orderId, timeoutMs: 30_000 });
report({ accepted: accepted.$typeName, orderId: accepted.orderId, totalCents: accepted.totalCents });
// The reply to this one waits in the storefront's queue, durably.
await sendPlaceOrder(client, create(PlaceOrderSchema, { orderId: durableId, items: [] }), { messageId: durableId, replyTo: "storefront-ts" });
await all;
await ep.stop();
await client.close();
report({ done: orderId });
