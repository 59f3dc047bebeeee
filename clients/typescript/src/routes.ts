// Routes: what generated code declares for each contract message.

import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

/** A command route: the message's schema, type, endpoint and subject suffix. */
export interface CommandRoute<Desc extends DescMessage = DescMessage> {
  readonly kind: "command";
  readonly schema: Desc;
  /** The proto full name, the message's identity on the wire. */
  readonly type: string;
  /** The endpoint that handles the command. */
  readonly endpoint: string;
  /** The subject suffix: the contract's subject option or the full name. */
  readonly suffix: string;
  /** The full names of the replies the contract declares. */
  readonly replies: readonly string[];
}

/** A reply route: a message that answers commands which declare it. */
export interface ReplyRoute<Desc extends DescMessage = DescMessage> {
  readonly kind: "reply";
  readonly schema: Desc;
  readonly type: string;
}

/** An event route: the message's schema, type and subject suffix. */
export interface EventRoute<Desc extends DescMessage = DescMessage> {
  readonly kind: "event";
  readonly schema: Desc;
  readonly type: string;
  readonly suffix: string;
  /** The proto names of the filter fields whose tokens follow the subject, in order; none for most events. */
  readonly filter: readonly string[];
}

export type Route<Desc extends DescMessage = DescMessage> = CommandRoute<Desc> | EventRoute<Desc>;

/** The message type a route carries. */
export type RouteMessage<R> = R extends { readonly schema: infer Desc extends DescMessage } ? MessageShape<Desc> : never;

/** command declares a command route; generated code calls it. */
export function command<Desc extends DescMessage>(schema: Desc, endpoint: string, suffix?: string, replies: readonly ReplyRoute[] = []): CommandRoute<Desc> {
  return { kind: "command", schema, type: schema.typeName, endpoint, suffix: suffix ?? schema.typeName, replies: replies.map((r) => r.type) };
}

/** reply declares a reply route; generated code calls it. */
export function reply<Desc extends DescMessage>(schema: Desc): ReplyRoute<Desc> {
  return { kind: "reply", schema, type: schema.typeName };
}

/** event declares an event route, with its filter fields if the contract names any; generated code calls it. */
export function event<Desc extends DescMessage>(schema: Desc, suffix?: string, filter: readonly string[] = []): EventRoute<Desc> {
  return { kind: "event", schema, type: schema.typeName, suffix: suffix ?? schema.typeName, filter };
}

/** Names are the subjects and streams of one prefix (docs/wire.md). */
export class Names {
  constructor(readonly prefix: string) {}
  subject(r: Route): string {
    return r.kind === "command" ? `${this.prefix}.cmd.${r.endpoint}.${r.suffix}` : `${this.prefix}.evt.${r.suffix}`;
  }
  retrySubject(endpoint: string): string {
    return `${this.prefix}.retry.${endpoint}`;
  }
  replySubject(endpoint: string): string {
    return `${this.prefix}.reply.${endpoint}`;
  }
  errorSubject(endpoint: string): string {
    return `${this.prefix}.err.${endpoint}`;
  }
  queueStream(endpoint: string): string {
    return `${this.prefix}_queue_${endpoint}`;
  }
  get eventsStream(): string {
    return `${this.prefix}_events`;
  }
  get errorsStream(): string {
    return `${this.prefix}_errors`;
  }
  /** The Object Store bucket of bodies sent by claim check. */
  get claimsBucket(): string {
    return `${this.prefix}_claims`;
  }
}
