// Filtered events without a server: the tokens and consumer filter
// subjects of docs/wire.md, "Filtered events", as the Go runtime makes them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Client, Endpoint, Names, eventFilterSubjects, filterText, filterToken, filterTokens } from "@gobusdev/gobus";
import { ParcelShippedSchema, Priority } from "../gen/gobustest/v1/filters_pb.js";
import { ParcelShippedRoute, StoredRoute, registerParcelShippedHandler, registerStoredHandler } from "../gen/gobustest/v1/filters_gobus.js";

const client = Object.assign(Object.create(Client.prototype) as Client, { names: new Names("gobus"), source: "test" });
const base = "gobus.evt.gobustest.v1.ParcelShipped";

test("filter values become the subject tokens of docs/wire.md", () => {
  assert.equal(filterToken("eu"), "eu");
  assert.equal(filterToken("eu.west"), "eu~2Ewest");
  assert.equal(filterToken("Zürich"), "Z~C3~BCrich");
  assert.equal(filterToken("~"), "~7E");
  assert.equal(filterToken(""), "~");
  assert.equal(filterToken(" "), "~20");
  assert.equal(filterToken("*"), "~2A");
  assert.equal(filterToken(">"), "~3E");
  assert.equal(filterToken("a-b_C9"), "a-b_C9");
  // Longer than 64 bytes escaped: ~~ and 32 hex digits of the text's SHA-256.
  assert.equal(filterToken("x".repeat(64)), "x".repeat(64));
  assert.equal(filterToken("x".repeat(65)), "~~9537c5fdf120482f7d58d25e9ed583f5");
  assert.equal(filterToken("é".repeat(10)), "~C3~A9".repeat(10));
  assert.equal(filterToken("é".repeat(11)), "~~31de13a7010cf019b1e0889437d3bf86");
  assert.equal(filterText(true), "true");
  assert.equal(filterText(-12), "-12");
  assert.equal(filterText(18446744073709551615n), "18446744073709551615");
  assert.throws(() => filterText(1.5));
});

test("a filtered event is published on its subject and its fields' tokens", () => {
  assert.equal(client.subjectOf(ParcelShippedRoute, create(ParcelShippedSchema, { id: "p", region: "eu.west", priority: Priority.EXPRESS })), base + ".eu~2Ewest.2");
  assert.equal(client.subjectOf(ParcelShippedRoute, create(ParcelShippedSchema, { id: "p" })), base + ".~.0");
  assert.equal(client.subjectOf(StoredRoute, create(ParcelShippedSchema, {}) as never), "gobus.evt.gobustest.v1.Stored");
});

test("filters become consumer filter subjects as the Go runtime's", () => {
  const tokens = (...fs: Parameters<typeof filterTokens>[1][]) => fs.map((f) => filterTokens(ParcelShippedRoute, f));
  assert.deepEqual(eventFilterSubjects(base, 2, []), [base, base + ".>"]);
  assert.deepEqual(eventFilterSubjects(base, 2, tokens({})), [base, base + ".>"]);
  assert.deepEqual(eventFilterSubjects(base, 2, tokens({ region: "eu" })), [base + ".eu.>"]);
  assert.deepEqual(eventFilterSubjects(base, 2, tokens({ priority: Priority.EXPRESS })), [base + ".*.2"]);
  assert.deepEqual(eventFilterSubjects(base, 2, tokens({ region: "eu", priority: Priority.EXPRESS })), [base + ".eu.2"]);
  assert.deepEqual(eventFilterSubjects(base, 2, tokens({ region: "eu" }, { region: "us" })), [base + ".eu.>", base + ".us.>"]);
  // A filter another takes in whole is left out; partial overlaps are refused.
  assert.deepEqual(eventFilterSubjects(base, 2, tokens({ region: "eu", priority: 1 }, { region: "eu" })), [base + ".eu.>"]);
  assert.throws(() => eventFilterSubjects(base, 2, tokens({ region: "eu" }, { priority: 1 })), /overlap/);
  assert.deepEqual(eventFilterSubjects("gobus.evt.x", 0, []), ["gobus.evt.x"]);
  assert.throws(() => filterTokens(ParcelShippedRoute, { regio: "eu" }), /not one of its filter fields/);
});

test("an endpoint refuses filters it cannot subscribe with", () => {
  const ep = new Endpoint(client, "parcels", { logger: { warn: () => {}, error: () => {} } });
  registerParcelShippedHandler(ep, { handleParcelShipped: async () => {} }, { region: "eu" }, { region: "us" });
  const other = new Endpoint(client, "parcels2", { logger: { warn: () => {}, error: () => {} } });
  assert.throws(() => registerParcelShippedHandler(other, { handleParcelShipped: async () => {} }, { region: "eu" }, { priority: Priority.STANDARD }), /overlap/);
  assert.throws(() => other.handle(StoredRoute, async () => {}, [{ id: "x" }]), /has no filter fields/);
  registerStoredHandler(other, { handleStored: async () => {} });
});
