// Claim check without a server: the object names, limits and headers of
// docs/wire.md, and a receiver's checks of what it reads, over an
// in-memory object store.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import type { ObjectInfo, ObjectResult, ObjectStore } from "@nats-io/obj";
import { create, toBinary } from "@bufbuild/protobuf";
import { ClaimError, Claims, Client, KindError, Names, claimLimit, claimName, dataRef } from "@gobusdev/gobus";
import { StoreSchema } from "../gen/gobustest/v1/filters_pb.js";
import { StoreRoute } from "../gen/gobustest/v1/filters_gobus.js";

/** digest is the Object Store's digest of data: SHA-256= and base64url, padded, as nats.go and nats.js write it. */
function digest(data: Uint8Array): string {
  return "SHA-256=" + createHash("sha256").update(data).digest("base64url") + "=";
}

/** memoryBucket is the part of an ObjectStore that Claims uses, in memory. */
function memoryBucket(): { objects: Map<string, Uint8Array>; corrupt: Set<string>; store: ObjectStore } {
  const objects = new Map<string, Uint8Array>();
  const corrupt = new Set<string>();
  const infoOf = (name: string, data: Uint8Array): ObjectInfo => ({ name, size: data.length, digest: digest(data), deleted: false, bucket: "gobus_claims" }) as unknown as ObjectInfo;
  const store = {
    async putBlob(meta: { name: string }, data: Uint8Array | null) {
      objects.set(meta.name, data ?? new Uint8Array(0));
      return infoOf(meta.name, data ?? new Uint8Array(0));
    },
    async info(name: string) {
      const d = objects.get(name);
      return d === undefined ? null : infoOf(name, d);
    },
    async get(name: string): Promise<ObjectResult | null> {
      const d = objects.get(name);
      if (d === undefined) return null;
      const bad = corrupt.has(name);
      return {
        info: infoOf(name, d),
        data: new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(d.slice(0, d.length >> 1));
            c.enqueue(d.slice(d.length >> 1));
            if (bad) c.error(new Error("received a corrupt object, digests do not match"));
            else c.close();
          },
        }),
        // As nats.js: a digest mismatch errors the stream, and error resolves.
        error: Promise.resolve(null),
      } as unknown as ObjectResult;
    },
    async delete(name: string) {
      objects.delete(name);
      return { success: true, purged: 1 };
    },
  };
  return { objects, corrupt, store: store as unknown as ObjectStore };
}

function claims(store: ObjectStore): Claims {
  return new Claims("gobus_claims", () => Promise.resolve(store));
}

test("objects are named by the SHA-256 of type NUL id, as runtime/claim.go names them", () => {
  // printf 'gobustest.v1.Store\0blob-1' | sha256sum
  assert.equal(claimName("gobustest.v1.Store", "blob-1"), "5da6889abf8e9cbd0287ecc598c4b531323c8be1f257ece0afb3fb2a28406f7f");
  assert.notEqual(claimName("gobustest.v1.Store", "blob-1"), claimName("gobustest.v1.Stored", "blob-1"));
});

test("the claim limit is the max payload less 64 KiB, lowered by a threshold, and off with false", () => {
  assert.equal(claimLimit(1024 * 1024, undefined), 1024 * 1024 - 65535);
  assert.equal(claimLimit(1024 * 1024, 1000), 1000);
  assert.equal(claimLimit(1024 * 1024, 8 * 1024 * 1024), 1024 * 1024 - 65535, "a threshold above the inline limit is lowered to it");
  assert.equal(claimLimit(100_000, undefined), 50_000, "at least half the max payload stays inline");
  assert.equal(claimLimit(1024 * 1024, false), Number.POSITIVE_INFINITY);
});

test("a body over the limit goes to the bucket and the message carries the reference headers", async () => {
  const bucket = memoryBucket();
  const client = Object.assign(Object.create(Client.prototype) as Client, {
    names: new Names("gobus"),
    source: "test",
    claims: claims(bucket.store),
    claimLimit: 100,
    nc: { info: { max_payload: 4096 } },
  });
  const body = toBinary(StoreSchema, create(StoreSchema, { id: "blob-1", data: new Uint8Array(3000).fill(7) }));
  const out = client.outgoing(StoreRoute, body, { id: "blob-1", source: "test" });
  await client.seal(out);
  const name = claimName("gobustest.v1.Store", "blob-1");
  assert.equal(out.data.length, 0);
  assert.equal(out.headers.get("ce-dataref"), "gobus_claims/" + name);
  assert.equal(out.headers.get("ce-gobusdatasize"), String(body.length));
  assert.equal(out.headers.get("ce-gobusdatadigest"), digest(body));
  assert.deepEqual(bucket.objects.get(name), body);

  // At or under the limit, the body stays inline.
  const small = client.outgoing(StoreRoute, body.slice(0, 100), { id: "blob-2", source: "test" });
  await client.seal(small);
  assert.equal(small.data.length, 100);
  assert.equal(small.headers.has("ce-dataref"), false);

  // With claim check off, a body over the max payload is too large.
  const off = Object.assign(Object.create(Client.prototype) as Client, { names: new Names("gobus"), claims: claims(bucket.store), claimLimit: Number.POSITIVE_INFINITY, nc: { info: { max_payload: 4096 } } });
  const big = off.outgoing(StoreRoute, new Uint8Array(5000), { id: "blob-3", source: "test" });
  await assert.rejects(off.seal(big), (err: unknown) => err instanceof KindError && err.kind === "too-large");
});

function refHeaders(ref: string, size?: number, dig?: string): MsgHdrs {
  const h = headers();
  h.set("ce-dataref", ref);
  if (size !== undefined) h.set("ce-gobusdatasize", String(size));
  if (dig !== undefined) h.set("ce-gobusdatadigest", dig);
  return h;
}

test("a receiver reads the object and checks its size and digest", async () => {
  const bucket = memoryBucket();
  const c = claims(bucket.store);
  const body = new Uint8Array(2048).map((_, i) => i % 251);
  bucket.objects.set("obj-1", body);
  const h = refHeaders("gobus_claims/obj-1", body.length, digest(body));
  assert.equal(dataRef(h), "gobus_claims/obj-1");
  assert.equal(dataRef(headers()), undefined);
  const got = await c.fetch("gobus_claims/obj-1", h);
  assert.deepEqual(got.data, body);
  assert.equal(got.object, "obj-1");
  await c.remove("obj-1");
  assert.equal(bucket.objects.has("obj-1"), false);
});

test("a reference that cannot be followed is a ClaimError that says why", async () => {
  const bucket = memoryBucket();
  const c = claims(bucket.store);
  const body = new Uint8Array([1, 2, 3, 4]);
  bucket.objects.set("obj-1", body);
  bucket.objects.set("obj-bad", body);
  bucket.corrupt.add("obj-bad");
  const cases: [string, MsgHdrs, RegExp][] = [
    ["no-slash", refHeaders("no-slash"), /not <bucket>\/<object>/],
    ["other bucket", refHeaders("other_claims/obj-1"), /bucket other than this bus's claims bucket gobus_claims/],
    ["gone", refHeaders("gobus_claims/obj-missing"), /the object is gone/],
    ["other digest", refHeaders("gobus_claims/obj-1", 4, digest(new Uint8Array([9]))), /overwritten by another message/],
    ["other size", refHeaders("gobus_claims/obj-1", 5, digest(body)), /overwritten by another message/],
    ["corrupt", refHeaders("gobus_claims/obj-bad", 4, digest(body)), /corrupt/],
  ];
  for (const [what, h, why] of cases) {
    await assert.rejects(c.fetch(dataRef(h) ?? "", h), (err: unknown) => err instanceof ClaimError && why.test(err.message), what);
  }
});

test("a missing claims bucket is a ClaimError; other failures are not", async () => {
  const missing = new Claims("gobus_claims", () => Promise.reject(new Error("object store not found")));
  await assert.rejects(missing.fetch("gobus_claims/x", headers()), (err: unknown) => err instanceof ClaimError && /does not exist/.test(err.message));
  const down = new Claims("gobus_claims", () => Promise.reject(new Error("TIMEOUT")));
  await assert.rejects(down.fetch("gobus_claims/x", headers()), (err: unknown) => !(err instanceof ClaimError));
});
