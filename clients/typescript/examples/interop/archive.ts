// The archive of the runtime's test contract, in TypeScript, for the
// interop test of claim check (bodies larger than the server's max
// payload), one JSON line per step on stdout:
//
//   node archive.js serve        the endpoint "archive": for each Store it
//                                reports the blob's size and SHA-256, then
//                                publishes Stored with the same blob; it
//                                runs until its stdin closes.
//   node archive.js send ID N    sends a Store of N bytes, byte i being
//                                (i*31 + 7) mod 256, and exits.

import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Client, Endpoint } from "@gobusdev/gobus";
import { StoreSchema, StoredSchema } from "../../gen/gobustest/v1/filters_pb.js";
import { publishStored, registerArchiveHandler, sendStore } from "../../gen/gobustest/v1/filters_gobus.js";
import { report, untilStdinCloses } from "../orders/report.js";

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

const [mode, id, size] = process.argv.slice(2);
const client = await Client.connect({ source: "archive-ts" });
if (mode === "serve") {
  const ep = new Endpoint(client, "archive", {
    logger: { warn: (m) => report({ warn: m }), error: (m, ...more) => console.error(m, ...more) },
  });
  registerArchiveHandler(ep, {
    async handleStore(ctx, s) {
      report({ received: ctx.type, id: s.id, bytes: s.data.length, sha256: sha256(s.data) });
      await publishStored(ctx, create(StoredSchema, { id: s.id, data: s.data }));
    },
  });
  await ep.start();
  report({ ready: "archive" });
  await untilStdinCloses();
  await ep.stop();
  report({ stopped: "archive" });
} else if (mode === "send" && id !== undefined && size !== undefined) {
  const data = new Uint8Array(Number(size)).map((_, i) => (i * 31 + 7) & 255);
  await sendStore(client, create(StoreSchema, { id, data }), { messageId: id });
  report({ sent: id, bytes: data.length, sha256: sha256(data) });
} else {
  console.error("usage: archive.js serve | archive.js send ID BYTES");
  process.exitCode = 2;
}
await client.close();
