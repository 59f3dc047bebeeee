// The gobus wire contract (docs/wire.md): header names, the percent-
// encoding of CloudEvents attributes, the escaping of failure headers and
// the reading of a message's envelope.

import type { MsgHdrs } from "@nats-io/transport-node";
import { Match } from "@nats-io/transport-node";

/** Header names, exactly as gobus writes them. */
export const Header = {
  specVersion: "ce-specversion",
  id: "ce-id",
  type: "ce-type",
  source: "ce-source",
  time: "ce-time",
  dataContentType: "ce-datacontenttype",
  contentType: "content-type",
  correlationId: "ce-correlationid",
  causationId: "ce-causationid",
  intent: "ce-gobusintent",
  replyTo: "ce-gobusreplyto",
  dataRef: "ce-dataref",
  dataSize: "ce-gobusdatasize",
  dataDigest: "ce-gobusdatadigest",
  msgId: "Nats-Msg-Id",
  failedEndpoint: "gobus-failed-endpoint",
  failedSubject: "gobus-failed-subject",
  failedStream: "gobus-failed-stream",
  failedSequence: "gobus-failed-sequence",
  failedAt: "gobus-failed-at",
  attempts: "gobus-attempts",
  errorKind: "gobus-error-kind",
  errorType: "gobus-error-type",
  errorMessage: "gobus-error-message",
  errorStack: "gobus-error-stack",
} as const;

/** The content type gobus writes. */
export const protobufContentType = "application/protobuf";

const hex = "0123456789ABCDEF";
const utf8 = new TextEncoder();

/**
 * encodeAttribute percent-encodes a CloudEvents attribute value as the NATS
 * binding says: space, '"', '%' and every character outside U+0021–U+007E,
 * each byte of its UTF-8 encoding as %XY, upper-case hex. Nothing else.
 */
export function encodeAttribute(value: string): string {
  let out = "";
  for (const b of utf8.encode(value)) {
    if (b > 0x20 && b < 0x7f && b !== 0x22 && b !== 0x25) {
      out += String.fromCharCode(b);
    } else {
      out += "%" + hex[b >> 4] + hex[b & 15];
    }
  }
  return out;
}

/** MalformedError: a message that is not a CloudEvent gobus reads. */
export class MalformedError extends Error {
  override name = "MalformedError";
  constructor(reason: string) {
    super("malformed message: " + reason);
  }
}

const strictUTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * decodeAttribute reverses encodeAttribute as the binding requires: a
 * value that is one quoted string is unquoted, then percent-decoded once
 * (lower-case hex and needless escapes accepted, a '%' without two hex
 * digits kept). The result must be valid UTF-8.
 */
export function decodeAttribute(name: string, value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    const unquoted = unquote(value);
    if (unquoted !== undefined) value = unquoted;
  }
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && isHex(value[i + 1]) && isHex(value[i + 2])) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    if (c < 0x80) {
      bytes.push(c);
    } else {
      bytes.push(...utf8.encode(value[i] ?? ""));
    }
  }
  try {
    return strictUTF8.decode(new Uint8Array(bytes));
  } catch {
    throw new MalformedError(`header ${name} is not valid UTF-8 once percent-decoded`);
  }
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c);
}

// unquote reads an RFC 7230 quoted string, or returns undefined if value
// is not exactly one.
function unquote(value: string): string | undefined {
  let out = "";
  for (let i = 1; i < value.length - 1; i++) {
    const c = value[i];
    if (c === "\\") {
      i++;
      if (i >= value.length - 1) return undefined;
      out += value[i];
    } else if (c === '"') {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * escapeHeaderValue writes a failure header's text as gobus does: '\\', CR
 * and LF as \\\\, \\r and \\n; '%' and every byte outside printable ASCII as
 * %XY; spaces and '"' kept. The result is cut to at most max bytes, never
 * inside an escape or a character, ending in "...[truncated]".
 */
export function escapeHeaderValue(text: string, max: number): string {
  const pieces: string[] = [];
  for (const ch of text) {
    switch (ch) {
      case "\\":
        pieces.push("\\\\");
        continue;
      case "\r":
        pieces.push("\\r");
        continue;
      case "\n":
        pieces.push("\\n");
        continue;
    }
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code < 0x7f && ch !== "%") {
      pieces.push(ch);
    } else {
      pieces.push([...utf8.encode(ch)].map((b) => "%" + hex[b >> 4] + hex[b & 15]).join(""));
    }
  }
  const all = pieces.join("");
  if (all.length <= max) return all;
  const marker = "...[truncated]";
  let out = "";
  for (const p of pieces) {
    if (out.length + p.length > max - marker.length) break;
    out += p;
  }
  return out + marker;
}

/** Envelope is what a receiver reads from a message's headers. */
export interface Envelope {
  id: string;
  type: string;
  source: string;
  time?: Date;
  correlationId?: string;
  causationId?: string;
  /** Where the command's reply goes: ce-gobusreplyto. */
  replyTo?: string;
  /** The body's media type, lower case, parameters dropped. */
  contentType: string;
  /** Why the body is read as contentType, for decode errors. */
  contentTypeFrom: string;
}

function get(h: MsgHdrs | undefined, name: string): string | undefined {
  if (!h) return undefined;
  const v = h.values(name, Match.IgnoreCase);
  return v.length > 0 ? v[0] : undefined;
}

/** attribute reads a ce- header, percent-decoded; undefined if absent. */
function attribute(h: MsgHdrs | undefined, name: string): string | undefined {
  const v = get(h, name);
  return v === undefined ? undefined : decodeAttribute(name, v);
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * parseEnvelope reads a binary-mode message's CloudEvents headers, as
 * docs/wire.md says. Structured mode is not read by this client: such a
 * message is malformed here, with a reason that says so.
 */
export function parseEnvelope(h: MsgHdrs | undefined): Envelope {
  const contentTypeHeader = get(h, Header.contentType);
  if (contentTypeHeader !== undefined && mediaType(contentTypeHeader).startsWith("application/cloudevents")) {
    throw new MalformedError("structured content mode is not read by the TypeScript client: send binary mode");
  }
  const spec = attribute(h, Header.specVersion);
  const missing: string[] = [Header.id, Header.source, Header.type].filter((n) => !attribute(h, n));
  if (spec === undefined) missing.unshift(Header.specVersion);
  if (missing.length > 0) {
    throw new MalformedError("missing CloudEvents header " + missing.sort().join(", "));
  }
  if (spec !== "1.0") {
    throw new MalformedError(`ce-specversion is "${spec}", want "1.0"`);
  }
  const env: Envelope = {
    id: attribute(h, Header.id) ?? "",
    type: attribute(h, Header.type) ?? "",
    source: attribute(h, Header.source) ?? "",
    contentType: protobufContentType,
    contentTypeFrom: "because no ce-datacontenttype was given",
  };
  const time = attribute(h, Header.time);
  if (time !== undefined) {
    const t = new Date(time);
    if (!rfc3339.test(time) || Number.isNaN(t.getTime())) {
      throw new MalformedError(`ce-time "${time}" is not RFC 3339`);
    }
    env.time = t;
  }
  const corr = attribute(h, Header.correlationId);
  if (corr) env.correlationId = corr;
  const cause = attribute(h, Header.causationId);
  if (cause) env.causationId = cause;
  const replyTo = attribute(h, Header.replyTo);
  if (replyTo) env.replyTo = replyTo;
  const dct = attribute(h, Header.dataContentType);
  if (dct !== undefined) {
    env.contentType = mediaType(dct);
    env.contentTypeFrom = "as ce-datacontenttype says";
  } else if (contentTypeHeader !== undefined) {
    env.contentType = mediaType(contentTypeHeader);
    env.contentTypeFrom = "from the content-type header, as no ce-datacontenttype was given";
  }
  return env;
}

function mediaType(v: string): string {
  return (v.split(";")[0] ?? "").trim().toLowerCase();
}
