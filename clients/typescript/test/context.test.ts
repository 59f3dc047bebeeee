// A handler's MessageContext, without a server: outgoing messages, derived
// ids, replies and their destinations.

import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Client, Endpoint, MessageContext, Names, UnrecoverableError, command, type Envelope } from "@gobusdev/gobus";
import { OrderAcceptedSchema, OrderPlacedSchema, PlaceOrderSchema } from "../gen/shop/sales/v1/sales_pb.js";
import { OrderAcceptedReplyRoute, OrderPlacedRoute, PlaceOrderRoute } from "../gen/shop/sales/v1/sales_gobus.js";

// A client that never connects: what MessageContext needs is its names.
const client = Object.assign(Object.create(Client.prototype) as Client, { names: new Names("gobus"), source: "test" });
const warnings: string[] = [];
const sales = new Endpoint(client, "sales", { logger: { warn: (m) => warnings.push(m), error: () => {} } });

function context(env: Partial<Envelope>, route = PlaceOrderRoute): MessageContext {
  const full: Envelope = { id: "in-1", type: route.type, source: "storefront", contentType: "application/protobuf", contentTypeFrom: "", ...env };
  return new MessageContext(sales, route, full, "gobus.cmd.sales.shop.sales.v1.PlaceOrder", 1, 1, new AbortController().signal);
}

test("outgoing messages carry the handler's attributes and derived ids", async () => {
  const ctx = context({ correlationId: "conv-1" });
  await ctx.publish(OrderPlacedRoute, create(OrderPlacedSchema, { orderId: "o-1", totalCents: 5n }));
  await ctx.publish(OrderPlacedRoute, create(OrderPlacedSchema, { orderId: "o-1", totalCents: 5n }));
  const [a, b] = ctx.outgoing;
  assert.ok(a && b);
  assert.equal(a.subject, "gobus.evt.shop.sales.v1.OrderPlaced");
  assert.equal(a.headers.get("ce-source"), "sales");
  assert.equal(a.headers.get("ce-correlationid"), "conv-1");
  assert.equal(a.headers.get("ce-causationid"), "in-1");
  assert.equal(a.headers.get("ce-gobusintent"), "publish");
  assert.equal(a.headers.get("ce-datacontenttype"), "application/protobuf");
  assert.equal(a.headers.get("Nats-Msg-Id"), a.headers.get("ce-id"));
  assert.notEqual(a.headers.get("ce-id"), b.headers.get("ce-id"), "equal messages get ids 0 and 1");
  // The same run again derives the same ids.
  const again = context({ correlationId: "conv-1" });
  await again.publish(OrderPlacedRoute, create(OrderPlacedSchema, { orderId: "o-1", totalCents: 5n }));
  assert.equal(again.outgoing[0]?.headers.get("ce-id"), a.headers.get("ce-id"));
});

test("a reply goes where ce-gobusreplyto says", async () => {
  const accepted = create(OrderAcceptedSchema, { orderId: "o-1", totalCents: 5n });
  const waiting = context({ replyTo: "_INBOX.abc.1" });
  await waiting.reply(OrderAcceptedReplyRoute, accepted);
  assert.equal(waiting.outgoing[0]?.subject, "_INBOX.abc.1");
  assert.equal(waiting.outgoing[0]?.core, true, "a waiting client's reply is core NATS");
  assert.equal(waiting.outgoing[0]?.headers.get("ce-gobusintent"), "reply");

  const durable = context({ replyTo: "gobus.reply.storefront" });
  await durable.reply(OrderAcceptedReplyRoute, accepted);
  assert.equal(durable.outgoing[0]?.subject, "gobus.reply.storefront");
  assert.equal(durable.outgoing[0]?.core, undefined, "an endpoint's reply is stored in its queue");

  const nobody = context({});
  await nobody.reply(OrderAcceptedReplyRoute, accepted);
  assert.equal(nobody.outgoing.length, 0);

  const intoAStream = context({ replyTo: "gobus.cmd.billing.x" });
  await intoAStream.reply(OrderAcceptedReplyRoute, accepted);
  assert.equal(intoAStream.outgoing.length, 0);
  assert.match(warnings.at(-1) ?? "", /dropped a reply to gobus\.cmd\.billing\.x/);
});

test("a reply the command does not declare fails for good", async () => {
  const undeclared = command(PlaceOrderSchema, "sales");
  const ctx = context({ replyTo: "_INBOX.x" }, undeclared);
  await assert.rejects(ctx.reply(OrderAcceptedReplyRoute, create(OrderAcceptedSchema, {})), UnrecoverableError);
});
