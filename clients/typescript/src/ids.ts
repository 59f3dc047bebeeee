// Message ids: UUIDv7 for sends outside handlers, and the UUIDv5 ids of a
// handler's outgoing messages, derived from the incoming id exactly as
// docs/wire.md ("Ids and de-duplication") and the Go runtime derive them.

import { createHash, randomBytes } from "node:crypto";

/** The namespace of derived ids. */
export const idNamespace = "6b3f3c5e-0f4e-4b8e-9a43-2f7c1c0b9a10";

function uuidBytes(u: string): Buffer {
  return Buffer.from(u.replace(/-/g, ""), "hex");
}

function format(b: Uint8Array): string {
  const h = Buffer.from(b).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** uuidV5 is the RFC 9562 name-based UUID (SHA-1) of name in namespace. */
export function uuidV5(namespace: string, name: Uint8Array | string): string {
  const sha = createHash("sha1").update(uuidBytes(namespace)).update(name).digest();
  const b = sha.subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return format(b);
}

/** uuidV7 is a new time-ordered random UUID. */
export function uuidV7(): string {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return format(b);
}

/**
 * DerivedIds names the messages one handler run sends: the UUIDv5 of
 * "<endpoint>/<incoming ce-id>/<hex SHA-256 of type NUL subject NUL
 * body>/<n>", n counting equal messages sent before by the same run.
 */
export class DerivedIds {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly endpoint: string,
    private readonly incoming: string,
  ) {}

  next(subject: string, type: string, body: Uint8Array): string {
    const key = createHash("sha256").update(type).update(Buffer.of(0)).update(subject).update(Buffer.of(0)).update(body).digest("hex");
    const n = this.seen.get(key) ?? 0;
    this.seen.set(key, n + 1);
    return uuidV5(idNamespace, `${this.endpoint}/${this.incoming}/${key}/${n}`);
  }
}
