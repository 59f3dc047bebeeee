// Filtered events of the runtime's test contract, in TypeScript, for the
// interop test of filtered subscriptions, one JSON line per step on stdout:
//
//   node parcels.js subscribe REGION     the endpoint "parcels-ts", subscribed
//                                        to the ParcelShipped events of one
//                                        region, filtered on the server; it
//                                        runs until its stdin closes.
//   node parcels.js publish ID:REGION:PRIORITY...
//                                        publishes those ParcelShipped events
//                                        and exits.

import { create } from "@bufbuild/protobuf";
import { Client, Endpoint } from "@gobusdev/gobus";
import { ParcelShippedSchema } from "../../gen/gobustest/v1/filters_pb.js";
import { publishParcelShipped, registerParcelShippedHandler } from "../../gen/gobustest/v1/filters_gobus.js";
import { report, untilStdinCloses } from "../orders/report.js";

const [mode, ...args] = process.argv.slice(2);
const client = await Client.connect({ source: "parcels-ts" });
if (mode === "subscribe" && args[0] !== undefined) {
  const ep = new Endpoint(client, "parcels-ts", {
    logger: { warn: (m) => report({ warn: m }), error: (m, ...more) => console.error(m, ...more) },
  });
  registerParcelShippedHandler(
    ep,
    {
      async handleParcelShipped(ctx, p) {
        report({ received: ctx.type, id: p.id, region: p.region, priority: p.priority, subject: ctx.subject });
      },
    },
    { region: args[0] },
  );
  await ep.start();
  report({ ready: "parcels-ts" });
  await untilStdinCloses();
  await ep.stop();
  report({ stopped: "parcels-ts" });
} else if (mode === "publish") {
  for (const arg of args) {
    const [id = "", region = "", priority = "0"] = arg.split(":");
    await publishParcelShipped(client, create(ParcelShippedSchema, { id, region, priority: Number(priority) }), { messageId: id });
    report({ published: id });
  }
} else {
  console.error("usage: parcels.js subscribe REGION | parcels.js publish ID:REGION:PRIORITY...");
  process.exitCode = 2;
}
await client.close();
