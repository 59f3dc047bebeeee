// A TypeScript billing endpoint, in place of the Go one: charges placed
// orders and publishes OrderBilled. For the interop test, an order whose
// id ends in "-flaky" fails its whole first delivery (the first try and
// its immediate retries) and succeeds on the delayed one; an order ending
// in "-poison" is refused as unrecoverable while the file
// BILLING_REJECT_FILE exists. It runs until its stdin closes.

import { existsSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Client, Endpoint, unrecoverable } from "@gobusdev/gobus";
import { OrderBilledSchema } from "../../gen/shop/billing/v1/billing_pb.js";
import { publishOrderBilled } from "../../gen/shop/billing/v1/billing_gobus.js";
import { registerOrderPlacedHandler } from "../../gen/shop/sales/v1/sales_gobus.js";
import { received, report, untilStdinCloses } from "./report.js";

const rejectFile = process.env.BILLING_REJECT_FILE;
const client = await Client.connect({ source: "billing" });
const ep = new Endpoint(client, "billing", {
  logger: { warn: (m) => report({ warn: m }), error: (m, ...more) => console.error(m, ...more) },
});
registerOrderPlacedHandler(ep, {
  async handleOrderPlaced(ctx, e) {
    if (e.orderId.endsWith("-flaky") && ctx.delivery === 1) {
      report({ failed: e.orderId, attempt: ctx.attempt, delivery: ctx.delivery });
      throw new Error(`card processor unavailable (attempt ${ctx.attempt})`);
    }
    if (e.orderId.endsWith("-poison") && rejectFile !== undefined && existsSync(rejectFile)) {
      report({ refused: e.orderId, attempt: ctx.attempt });
      throw unrecoverable(new Error("card number invalid"));
    }
    received(ctx, e.orderId, { totalCents: e.totalCents, subject: ctx.subject });
    await publishOrderBilled(ctx, create(OrderBilledSchema, { orderId: e.orderId, amountCents: e.totalCents }));
  },
});
await ep.start();
report({ ready: "billing" });
await untilStdinCloses();
await ep.stop();
await client.close();
report({ stopped: "billing" });
