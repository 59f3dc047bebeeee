// The wire contract's examples (docs/wire.md), byte for byte.

import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { headers } from "@nats-io/transport-node";
import { DerivedIds, decodeAttribute, encodeAttribute, escapeHeaderValue, MalformedError, parseEnvelope, uuidV5, uuidV7 } from "@gobusdev/gobus";
import { OrderBilledSchema } from "../gen/shop/billing/v1/billing_pb.js";

test("ce- values are percent-encoded as the binding says", () => {
  assert.equal(encodeAttribute("Euro € 😀"), "Euro%20%E2%82%AC%20%F0%9F%98%80");
  assert.equal(encodeAttribute("order 42 — 100%"), "order%2042%20%E2%80%94%20100%25");
  assert.equal(encodeAttribute("shop.sales.v1.PlaceOrder"), "shop.sales.v1.PlaceOrder");
  assert.equal(encodeAttribute('a"b\tc'), "a%22b%09c");
});

test("ce- values are decoded once, leniently, and must be UTF-8", () => {
  assert.equal(decodeAttribute("ce-source", "Euro%20%e2%82%ac"), "Euro €");
  assert.equal(decodeAttribute("ce-source", "%41"), "A");
  assert.equal(decodeAttribute("ce-source", "100%"), "100%");
  assert.equal(decodeAttribute("ce-source", "%2541"), "%41");
  assert.equal(decodeAttribute("ce-source", '"ops\\"cli"'), 'ops"cli');
  assert.throws(() => decodeAttribute("ce-source", "%C0%A0"), MalformedError);
});

test("failure header text is escaped as gobus escapes it", () => {
  assert.equal(escapeHeaderValue("kaputt:\u00a0Grüße, 100%", 4096), "kaputt:%C2%A0Gr%C3%BC%C3%9Fe, 100%25");
  assert.equal(escapeHeaderValue("a\\b\r\nc", 4096), "a\\\\b\\r\\nc");
  const cut = escapeHeaderValue("é".repeat(100), 40);
  assert.ok(cut.endsWith("...[truncated]") && cut.length <= 40 && !/%.?\.\.\./.test(cut), cut);
});

test("derived ids are the UUIDv5 of docs/wire.md", () => {
  const body = toBinary(OrderBilledSchema, create(OrderBilledSchema, { orderId: "o-1001", amountCents: 2500n }));
  assert.equal(Buffer.from(body).toString("hex"), "0a066f2d3130303110c413");
  const ids = new DerivedIds("billing", "0f8b6c1e-2d4a-4c3b-9e5f-7a1b2c3d4e5f");
  const subject = "gobus.evt.shop.billing.v1.OrderBilled";
  // Computed with Python's uuid.uuid5, an implementation of its own.
  assert.equal(ids.next(subject, "shop.billing.v1.OrderBilled", body), "3dae9357-9bb8-5798-ac14-49c08a0ba198");
  assert.equal(ids.next(subject, "shop.billing.v1.OrderBilled", body), "e5f23b3c-77ab-57af-87af-1e3ead7daefc");
  // RFC 9562's UUIDv5 example.
  assert.equal(uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  assert.match(uuidV7(), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("an envelope is read as gobus reads it", () => {
  const h = headers();
  h.set("Ce-Specversion", "1.0");
  h.set("ce-id", "x%201");
  h.set("ce-type", "shop.sales.v1.PlaceOrder");
  h.set("ce-source", "ops%20cli");
  h.set("ce-time", "2025-06-01T12:00:00+02:00");
  h.set("content-type", "application/json; charset=utf-8");
  const env = parseEnvelope(h);
  assert.equal(env.id, "x 1");
  assert.equal(env.source, "ops cli");
  assert.equal(env.contentType, "application/json");
  assert.equal(env.contentTypeFrom, "from the content-type header, as no ce-datacontenttype was given");
  h.set("ce-datacontenttype", "application/protobuf");
  assert.equal(parseEnvelope(h).contentType, "application/protobuf");
  const bad = headers();
  bad.set("ce-specversion", "1.0");
  bad.set("ce-type", "t");
  assert.throws(() => parseEnvelope(bad), /missing CloudEvents header ce-id, ce-source/);
});
