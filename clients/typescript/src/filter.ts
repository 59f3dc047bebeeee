// Filtered events (docs/wire.md, "Filtered events"): an event whose
// contract names filter fields is published on its subject followed by a
// token per field, and a subscriber's consumer takes only the events its
// filters match, filtered on the server. The tokens and filter subjects
// are those of the Go runtime (runtime/filter.go,
// internal/topology/filter_subjects.go).

import { createHash } from "node:crypto";
import { ScalarType, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { GobusError } from "./errors.js";
import type { EventRoute } from "./routes.js";

/** The most filter fields an event may name. */
export const maxFilterFields = 4;
/** The longest filter token; longer ones are hashed. */
export const maxFilterTokenLength = 64;

/** A filter field's value: a string, a bool, an integer or an enum's number. */
export type FilterValue = string | boolean | number | bigint;

/**
 * EventFilter is one subscription filter of an event: a value per filter
 * field, by the field's protobuf-es name (camelCase); a field left out or
 * undefined takes any value. The generated XFilter types are these.
 */
export type EventFilter = Readonly<Record<string, FilterValue | undefined>>;

const hex = "0123456789ABCDEF";
const utf8 = new TextEncoder();

/**
 * filterToken turns a filter field's value, as text, into its subject
 * token: A-Z, a-z, 0-9, '-' and '_' stay; every other UTF-8 byte is '~'
 * and two upper-case hex digits; the empty value is "~"; a token longer
 * than 64 bytes is "~~" and the first 32 hex digits of the text's SHA-256.
 */
export function filterToken(text: string): string {
  if (text === "") return "~";
  let out = "";
  for (const b of utf8.encode(text)) {
    const keep = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f;
    out += keep ? String.fromCharCode(b) : "~" + hex[b >> 4] + hex[b & 15];
  }
  if (out.length > maxFilterTokenLength) {
    return "~~" + createHash("sha256").update(text, "utf8").digest("hex").slice(0, 32);
  }
  return out;
}

/** filterText is a value as its token escapes it: bools as true or false, numbers in decimal. */
export function filterText(v: FilterValue): string {
  switch (typeof v) {
    case "string":
      return v;
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isInteger(v)) throw new GobusError(`filter value ${v} is not an integer: filter fields are strings, integers, bools or enums`);
      return String(v);
    default:
      return v.toString();
  }
}

const filterScalars = new Set<ScalarType>([
  ScalarType.STRING,
  ScalarType.BOOL,
  ScalarType.INT32,
  ScalarType.SINT32,
  ScalarType.SFIXED32,
  ScalarType.INT64,
  ScalarType.SINT64,
  ScalarType.SFIXED64,
  ScalarType.UINT32,
  ScalarType.FIXED32,
  ScalarType.UINT64,
  ScalarType.FIXED64,
]);

/** filterFields are the descriptors of route's filter fields, checked as the generator checks them. */
export function filterFields(route: EventRoute): DescField[] {
  if (route.filter.length > maxFilterFields) {
    throw new GobusError(`event ${route.type} names ${route.filter.length} filter fields, and gobus allows at most ${maxFilterFields}`);
  }
  return route.filter.map((name) => {
    const f = route.schema.fields.find((f) => f.name === name);
    const ok = f !== undefined && f.oneof === undefined && ((f.fieldKind === "scalar" && filterScalars.has(f.scalar)) || f.fieldKind === "enum");
    if (!ok) {
      throw new GobusError(`event ${route.type}: filter field "${name}" is not a singular string, integer, bool or enum field of ${route.schema.typeName}`);
    }
    return f;
  });
}

/** filteredSubject is subject, an event's, followed by the tokens of msg's filter fields. */
export function filteredSubject(route: EventRoute, subject: string, msg: MessageShape<DescMessage>): string {
  if (route.filter.length === 0) return subject;
  const values = msg as unknown as Record<string, FilterValue | undefined>;
  return [subject, ...filterFields(route).map((f) => filterToken(filterText(values[f.localName] ?? zeroValue(f))))].join(".");
}

// zeroValue is the value of an unset (proto3 optional) field, as Go reads it.
function zeroValue(f: DescField): FilterValue {
  if (f.fieldKind === "scalar" && f.scalar === ScalarType.STRING) return "";
  if (f.fieldKind === "scalar" && f.scalar === ScalarType.BOOL) return false;
  return 0;
}

/** filterTokens are a filter's tokens, one per filter field, "" for any. */
export function filterTokens(route: EventRoute, filter: EventFilter): string[] {
  const fields = filterFields(route);
  const known = new Set(fields.map((f) => f.localName));
  for (const k of Object.keys(filter)) {
    if (!known.has(k) && filter[k] !== undefined) {
      throw new GobusError(`event ${route.type}: a filter names ${k}, which is not one of its filter fields (${fields.map((f) => f.localName).join(", ")})`);
    }
  }
  return fields.map((f) => {
    const v = filter[f.localName];
    return v === undefined ? "" : filterToken(filterText(v));
  });
}

/**
 * eventFilterSubjects are the consumer filter subjects of a subscription
 * to the event on subject with fields filter fields, taking the events
 * that match one of filters (a token per field, "" for any), as
 * docs/wire.md's table says.
 */
export function eventFilterSubjects(subject: string, fields: number, filters: string[][]): string[] {
  if (fields === 0) return [subject];
  const kept = keepFilters(filters);
  if (kept.length === 0 || kept[0]!.every((t) => t === "")) return [subject, subject + ".>"];
  return kept.map((f) => filterSubject(subject, f));
}

function keepFilters(filters: string[][]): string[][] {
  const kept: string[][] = [];
  next: for (const [i, f] of filters.entries()) {
    for (const [j, g] of filters.entries()) {
      if (i !== j && covers(g, f) && (!covers(f, g) || j < i)) continue next; // g takes every event f takes
    }
    for (const g of kept) {
      if (overlap(f, g)) {
        throw new GobusError(
          `filters ${showFilter(g)} and ${showFilter(f)} overlap: an event can match both, and a JetStream consumer's filter subjects must not overlap; make them disjoint (give both a value for the same field) or drop one`,
        );
      }
    }
    kept.push(f);
  }
  return kept;
}

const covers = (a: string[], b: string[]): boolean => a.every((t, i) => t === "" || t === b[i]);
const overlap = (a: string[], b: string[]): boolean => a.every((t, i) => t === "" || b[i] === "" || t === b[i]);
const showFilter = (f: string[]): string => "(" + f.map((t) => t || "*").join(", ") + ")";

function filterSubject(base: string, f: string[]): string {
  let last = f.length;
  while (last > 0 && f[last - 1] === "") last--;
  let out = base;
  for (const t of f.slice(0, last)) out += "." + (t || "*");
  return last < f.length ? out + ".>" : out;
}

/** filteredOn reports whether subject is one a filtered event of route arrives on: want followed by tokens. */
export function filteredOn(route: EventRoute, want: string, subject: string): boolean {
  return route.filter.length > 0 && subject.length > want.length && subject.startsWith(want + ".");
}
