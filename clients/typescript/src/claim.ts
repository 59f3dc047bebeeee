// Claim check (docs/wire.md, "Claim check"): a body longer than the
// claim limit travels in the JetStream Object Store bucket
// <prefix>_claims, and the message carries a reference to it (ce-dataref)
// with the body's size and digest; a receiver reads the object before it
// decodes. The object names, headers and bucket are those of the Go
// runtime (runtime/claim.go), so that either side reads what the other
// sent.

import { createHash } from "node:crypto";
import type { MsgHdrs } from "@nats-io/transport-node";
import { Match } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { Objm, StorageType, type ObjectStore } from "@nats-io/obj";
import { GobusError } from "./errors.js";
import { decodeAttribute, Header } from "./wire.js";

/** The largest header block JetStream stores, as gobus reserves room for it. */
export const maxHeaderBlock = 65535;

/** The description gobus gives the claims bucket. */
export const claimsBucketDescription = "gobus bodies sent by claim check, referred to by ce-dataref";

/**
 * claimLimit is the longest body sent inline to a server with max payload
 * maxPayload: the server's max payload less room for the headers (at least
 * half of it), or threshold when that is lower. false turns claim check
 * off: every body goes inline.
 */
export function claimLimit(maxPayload: number, threshold: number | false | undefined): number {
  if (threshold === false || maxPayload <= 0) return Number.POSITIVE_INFINITY;
  const inline = Math.max(maxPayload - maxHeaderBlock, Math.floor(maxPayload / 2));
  return threshold !== undefined && threshold > 0 && threshold < inline ? threshold : inline;
}

/**
 * claimName is the object that holds the body of message id of type typ:
 * the lower-case hex SHA-256 of "<type> NUL <id>", the same for a message
 * sent again with its id, as a retried handler does.
 */
export function claimName(typ: string, id: string): string {
  return createHash("sha256").update(typ + "\x00" + id).digest("hex");
}

/** ClaimError is a reference that cannot be followed: the message goes to the error stream. */
export class ClaimError extends Error {
  override name = "ClaimError";
  constructor(
    readonly ref: string,
    reason: string,
  ) {
    super(`gobus: the body of this message was sent by claim check (ce-dataref "${ref}"), and ${reason}`);
  }
}

/** A body read by reference: its bytes and the object that held them. */
export interface Claimed {
  data: Uint8Array;
  object: string;
}

function header(h: MsgHdrs | undefined, name: string): string | undefined {
  const v = h?.values(name, Match.IgnoreCase) ?? [];
  return v.length > 0 ? v[0] : undefined;
}

/** dataRef is the message's ce-dataref, or undefined if its body is inline. */
export function dataRef(h: MsgHdrs | undefined): string | undefined {
  const ref = header(h, Header.dataRef);
  return ref === undefined || ref === "" ? undefined : decodeAttribute(Header.dataRef, ref);
}

/**
 * openClaimsBucket opens the claims bucket through js: with create, and
 * the installer on, it creates the bucket if it is missing, with the
 * settings gobus's installer gives it (objects live as long as events,
 * maxAgeNanos).
 */
export function openClaimsBucket(js: JetStreamClient, bucket: string, install: boolean, maxAgeNanos: number): (create: boolean) => Promise<ObjectStore> {
  const objm = new Objm(js);
  return (create) =>
    create && install
      ? objm.create(bucket, { description: claimsBucketDescription, ttl: maxAgeNanos, storage: StorageType.File, replicas: 1 })
      : objm.open(bucket);
}

/**
 * Claims is a client's side of claim check: the bucket, opened on first
 * use (and created by a sender whose installer is on, as gobus's is).
 */
export class Claims {
  private bucket: Promise<ObjectStore> | undefined;

  /** opener opens the bucket; create asks for it to be created if missing. */
  constructor(
    readonly bucketName: string,
    private readonly opener: (create: boolean) => Promise<ObjectStore>,
  ) {}

  /** open returns the bucket, opened once. */
  private open(create: boolean): Promise<ObjectStore> {
    if (this.bucket !== undefined) return this.bucket;
    const p = this.opener(create);
    this.bucket = p;
    p.catch(() => {
      if (this.bucket === p) this.bucket = undefined; // try again next time
    });
    return p;
  }

  /**
   * put stores data as the body of message id of type typ and sets the
   * reference headers on h; the message then goes with no body.
   */
  async put(typ: string, id: string, data: Uint8Array, h: MsgHdrs): Promise<void> {
    const name = claimName(typ, id);
    const obs = await this.open(true);
    const info = await obs.putBlob({ name }, data);
    h.set(Header.dataRef, `${this.bucketName}/${name}`);
    h.set(Header.dataSize, String(data.length));
    h.set(Header.dataDigest, info.digest);
  }

  /**
   * fetch reads the body ref refers to and checks it against the size and
   * digest the sender wrote. A reference that cannot be followed throws a
   * ClaimError; other failures (the server busy, say) throw what they are,
   * for a later delivery to try again.
   */
  async fetch(ref: string, h: MsgHdrs | undefined): Promise<Claimed> {
    const slash = ref.indexOf("/");
    const bucket = slash < 0 ? "" : ref.slice(0, slash);
    const name = slash < 0 ? "" : ref.slice(slash + 1);
    if (name === "") throw new ClaimError(ref, "it is not <bucket>/<object>");
    if (bucket !== this.bucketName) throw new ClaimError(ref, `it names a bucket other than this bus's claims bucket ${this.bucketName}`);
    let obs: ObjectStore;
    try {
      obs = await this.open(false);
    } catch (err) {
      if (err instanceof Error && /not found/i.test(err.message)) throw new ClaimError(ref, "the claims bucket does not exist");
      throw err;
    }
    const gone = () => new ClaimError(ref, "the object is gone: removed after the message was handled once, or expired with the bucket's max age");
    const info = await obs.info(name);
    if (info === null || info.deleted) throw gone();
    const size = header(h, Header.dataSize);
    const digest = header(h, Header.dataDigest);
    if ((digest !== undefined && digest !== "" && info.digest !== digest) || (size !== undefined && size !== "" && size !== String(info.size))) {
      throw new ClaimError(ref, `the object holds ${info.size} bytes with digest ${info.digest}, and the message says ${size} bytes with digest ${digest}: it was overwritten by another message with the same id`);
    }
    const r = await obs.get(name);
    if (r === null) throw gone();
    let data: Uint8Array;
    try {
      data = await readAll(r.data, r.info.size);
      await r.error;
    } catch (err) {
      if (err instanceof Error && /corrupt|digests do not match/i.test(err.message)) {
        throw new ClaimError(ref, "the object is corrupt: its digest does not match its content");
      }
      throw err;
    }
    return { data, object: name };
  }

  /** remove deletes a handled command's body; a failure is left to the bucket's max age. */
  async remove(name: string): Promise<void> {
    const obs = await this.open(false);
    await obs.delete(name);
  }
}

async function readAll(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > size) throw new GobusError(`the claimed object holds more than the ${size} bytes its info says`);
    out.set(value, at);
    at += value.length;
  }
  if (at !== size) throw new GobusError(`the claimed object holds ${at} bytes, and its info says ${size}`);
  return out;
}
