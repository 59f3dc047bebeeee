// Client: a connection to NATS JetStream that sends commands and publishes
// events on the gobus wire contract.

import { basename } from "node:path";
import { fromBinary, fromJson, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { connect, createInbox, headers, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Claims, claimLimit, openClaimsBucket } from "./claim.js";
import { GobusError, KindError } from "./errors.js";
import { filteredSubject } from "./filter.js";
import { uuidV7 } from "./ids.js";
import { Names, type CommandRoute, type EventRoute, type ReplyRoute, type Route, type RouteMessage } from "./routes.js";
import { encodeAttribute, Header, parseEnvelope, protobufContentType, type Envelope } from "./wire.js";

/** ConnectOptions configure Client.connect. */
export interface ConnectOptions {
  /** NATS server URLs; default GOBUS_URL, else nats://127.0.0.1:4222. */
  servers?: string | string[];
  /** An open connection to use instead; Client.close leaves it open. */
  connection?: NatsConnection;
  /** The subject and stream prefix; default "gobus". */
  prefix?: string;
  /** ce-source of messages sent outside handlers; default the program's file name. */
  source?: string;
  /**
   * Create the events and errors streams if missing (default true), as
   * gobus's installer does, and the claims bucket when a body first goes
   * by claim check.
   */
  installer?: boolean;
  /**
   * Claim check (docs/wire.md): bodies longer than this many bytes go to
   * the Object Store bucket <prefix>_claims and the message carries a
   * reference (ce-dataref), as gobus.WithClaimCheck. Default, and at
   * most: the server's max payload less 64 KiB for headers. false sends
   * every body inline (gobus.WithoutClaimCheck): a larger message fails
   * as too-large. Receiving endpoints follow references either way.
   */
  claimCheck?: number | false;
}

/** SendOptions change one sent or published message. */
export interface SendOptions {
  /** The message id; a retried send must reuse it to be stored once. */
  messageId?: string;
  /** The conversation id; default the incoming one inside a handler, else the message's own id. */
  correlationId?: string;
  /** Commands: ask for the reply in this endpoint's queue (<prefix>.reply.<endpoint>). */
  replyTo?: string;
}

/** RequestOptions change one request. */
export interface RequestOptions extends SendOptions {
  /** How long to wait for the reply, in ms; default 30000. */
  timeoutMs?: number;
}

/** Sender sends commands: a Client, or a MessageContext inside a handler. */
export interface Sender {
  send<R extends CommandRoute>(route: R, msg: RouteMessage<R>, opts?: SendOptions): Promise<void>;
}

/** Publisher publishes events: a Client, or a MessageContext inside a handler. */
export interface Publisher {
  publish<R extends EventRoute>(route: R, msg: RouteMessage<R>, opts?: SendOptions): Promise<void>;
}

/** An encoded message, ready for JetStream. */
export interface Outgoing {
  subject: string;
  type: string;
  /** The message's ce-id, which names its claim check object. */
  id: string;
  kind: "command" | "event" | "reply";
  headers: MsgHdrs;
  data: Uint8Array;
  /** A reply to a waiting client: published on core NATS, after the rest is stored. */
  core?: boolean;
}

/** What an outgoing message's headers are made of. */
export interface OutgoingAttributes {
  id: string;
  source: string;
  correlationId?: string;
  causationId?: string;
  replyTo?: string;
}

const twoMinutesNanos = 2 * 60 * 1e9;
const weekNanos = 7 * 24 * 3600 * 1e9;

export class Client implements Sender, Publisher {
  /** The claims bucket, for bodies sent and received by claim check. */
  readonly claims: Claims;
  /** The longest body sent inline; longer ones go by claim check. */
  readonly claimLimit: number;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly names: Names,
    readonly source: string,
    private readonly owned: boolean,
    installer: boolean,
    claimCheck: number | false | undefined,
  ) {
    this.claims = new Claims(names.claimsBucket, openClaimsBucket(js, names.claimsBucket, installer, weekNanos));
    this.claimLimit = claimLimit(nc.info?.max_payload ?? 1024 * 1024, claimCheck);
  }

  /** connect connects to NATS and, unless told not to, creates the events and errors streams if missing. */
  static async connect(opts: ConnectOptions = {}): Promise<Client> {
    const nc = opts.connection ?? (await connect({ servers: opts.servers ?? process.env.GOBUS_URL ?? "nats://127.0.0.1:4222" }));
    const prefix = opts.prefix ?? "gobus";
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(prefix) || /^(kv|obj)$/i.test(prefix)) {
      throw new GobusError(`invalid prefix "${prefix}": one NATS token of letters, digits and '-', not KV or OBJ`);
    }
    if (opts.claimCheck !== undefined && opts.claimCheck !== false && !(Number.isInteger(opts.claimCheck) && opts.claimCheck > 0)) {
      throw new GobusError(`claimCheck ${opts.claimCheck}: the threshold is a body size in bytes; use a positive integer, or false to send every body inline`);
    }
    const source = opts.source ?? basename(process.argv[1] ?? "typescript").replace(/\.[cm]?js$/, "");
    const installer = opts.installer ?? true;
    const c = new Client(nc, jetstream(nc), await jetstreamManager(nc), new Names(prefix), source, opts.connection === undefined, installer, opts.claimCheck);
    if (installer) {
      await c.ensureStream({ name: c.names.eventsStream, subjects: [`${prefix}.evt.>`, `${prefix}.sched.evt.*`], retention: RetentionPolicy.Limits, max_age: weekNanos });
      await c.ensureStream({ name: c.names.errorsStream, subjects: [`${prefix}.err.>`], retention: RetentionPolicy.Limits, max_age: 0 });
    }
    return c;
  }

  /** send sends a command to its endpoint's queue and waits until JetStream stored it. */
  send<R extends CommandRoute>(route: R, msg: RouteMessage<R>, opts: SendOptions = {}): Promise<void> {
    return this.dispatch(route, msg, opts);
  }

  /** publish publishes an event and waits until JetStream stored it. */
  publish<R extends EventRoute>(route: R, msg: RouteMessage<R>, opts: SendOptions = {}): Promise<void> {
    return this.dispatch(route, msg, opts);
  }

  /**
   * request sends a command asking for its reply on a subject of this
   * client's own and waits for one of replies, as gobus's RequestX do: the
   * reply is published on core NATS and stored nowhere.
   */
  async request<R extends CommandRoute>(route: R, msg: RouteMessage<R>, replies: readonly ReplyRoute[], opts: RequestOptions = {}): Promise<MessageShape<DescMessage>> {
    const inbox = createInbox();
    const timeout = opts.timeoutMs ?? 30_000;
    const sub = this.nc.subscribe(inbox, { max: 1, timeout });
    try {
      const data = encode(route, msg);
      const id = opts.messageId ?? uuidV7();
      const out = this.outgoing(route, data, { id, source: this.source, replyTo: inbox, ...(opts.correlationId ? { correlationId: opts.correlationId } : {}) });
      await this.seal(out);
      await this.store(out);
      for await (const m of sub) {
        const env = parseEnvelope(m.headers);
        const r = replies.find((r) => r.type === env.type);
        if (r === undefined) {
          throw new GobusError(`request ${route.type}: the reply is a ${env.type}, which ${route.type} does not declare`);
        }
        return decode(r, m.data, env);
      }
    } catch (err) {
      if (err instanceof Error && err.name === "TimeoutError") {
        throw new GobusError(`request ${route.type}: no reply within ${timeout}ms`, { cause: err });
      }
      throw err;
    } finally {
      sub.unsubscribe();
    }
    throw new GobusError(`request ${route.type}: the reply subscription ended without a reply`);
  }

  private async dispatch(route: Route, msg: MessageShape<DescMessage>, opts: SendOptions): Promise<void> {
    const data = encode(route, msg);
    const id = opts.messageId ?? uuidV7();
    const out = this.outgoing(
      route,
      data,
      {
        id,
        source: this.source,
        ...(opts.correlationId ? { correlationId: opts.correlationId } : {}),
        ...(opts.replyTo !== undefined ? { replyTo: this.names.replySubject(opts.replyTo) } : {}),
      },
      this.subjectOf(route, msg),
    );
    await this.seal(out);
    await this.store(out);
  }

  /**
   * subjectOf is the subject msg goes to on route: a command's, or an
   * event's followed by the tokens of its filter fields (docs/wire.md,
   * "Filtered events").
   */
  subjectOf(route: Route, msg: MessageShape<DescMessage>): string {
    const subject = this.names.subject(route);
    return route.kind === "event" ? filteredSubject(route, subject, msg) : subject;
  }

  /** outgoing builds the message of route with body data and the given attributes. */
  outgoing(route: Route | ReplyRoute, data: Uint8Array, a: OutgoingAttributes, subject?: string): Outgoing {
    const h = headers();
    h.set(Header.specVersion, "1.0");
    h.set(Header.id, encodeAttribute(a.id));
    h.set(Header.msgId, encodeAttribute(a.id));
    h.set(Header.type, encodeAttribute(route.type));
    h.set(Header.source, encodeAttribute(a.source));
    h.set(Header.time, encodeAttribute(new Date().toISOString()));
    h.set(Header.dataContentType, protobufContentType);
    if (a.correlationId !== undefined && a.correlationId !== a.id) h.set(Header.correlationId, encodeAttribute(a.correlationId));
    if (a.causationId !== undefined) h.set(Header.causationId, encodeAttribute(a.causationId));
    h.set(Header.intent, route.kind === "command" ? "send" : route.kind === "event" ? "publish" : "reply");
    if (a.replyTo !== undefined) h.set(Header.replyTo, encodeAttribute(a.replyTo));
    return { subject: subject ?? (route.kind === "reply" ? "" : this.names.subject(route)), type: route.type, id: a.id, kind: route.kind, headers: h, data };
  }

  /**
   * seal makes out ready to store: a body over the claim limit goes to the
   * claims bucket and out carries the reference instead (replies travel
   * inline: a waiting requester does not follow references); then the
   * size check.
   */
  async seal(out: Outgoing): Promise<void> {
    if (out.data.length > this.claimLimit && out.kind !== "reply") {
      const verb = out.kind === "command" ? "send" : "publish";
      try {
        await this.claims.put(out.type, out.id, out.data, out.headers);
      } catch (err) {
        throw new GobusError(`${verb} ${out.type}: storing its body of ${out.data.length} bytes by claim check in bucket ${this.names.claimsBucket}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      out.data = new Uint8Array(0);
    }
    this.checkSize(out);
  }

  /** checkSize fails with a too-large error if out exceeds the server's max payload. */
  checkSize(out: Outgoing): void {
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    let size = out.data.length + "NATS/1.0\r\n\r\n".length;
    for (const k of out.headers.keys()) for (const v of out.headers.values(k)) size += k.length + v.length + 4;
    if (size > max) {
      throw new KindError("too-large", `gobus: message too large: ${out.type}: ${size} bytes, and the server's max payload is ${max} bytes`);
    }
  }

  /** store publishes out to JetStream and waits for its ack; a core reply is only published. */
  async store(out: Outgoing): Promise<void> {
    if (out.core) {
      this.nc.publish(out.subject, out.data, { headers: out.headers });
      return;
    }
    try {
      await this.js.publish(out.subject, out.data, { headers: out.headers });
    } catch (err) {
      throw new GobusError(`storing ${out.type} on ${out.subject}: ${err instanceof Error ? err.message : String(err)} (is the stream there? a gobus endpoint creates its queue when it starts)`, { cause: err });
    }
  }

  /** ensureStream creates a stream with gobus's settings if none has its name. */
  async ensureStream(cfg: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
    try {
      await this.jsm.streams.info(cfg.name);
      return;
    } catch {
      // missing: create it below
    }
    try {
      const schedules = cfg.name !== this.names.errorsStream; // queues and events allow message schedules
      await this.jsm.streams.add({
        storage: StorageType.File,
        duplicate_window: twoMinutesNanos,
        num_replicas: 1,
        ...(schedules ? { allow_msg_schedules: true, allow_rollup_hdrs: true } : {}),
        ...cfg,
      });
    } catch (err) {
      // Another process may have created it in between.
      await this.jsm.streams.info(cfg.name).catch(() => {
        throw err;
      });
    }
  }

  /** close closes the connection if connect opened it. */
  async close(): Promise<void> {
    if (this.owned) await this.nc.drain();
  }
}

/** encode is msg's protobuf binary body. */
export function encode(route: Route | ReplyRoute, msg: MessageShape<DescMessage>): Uint8Array {
  return toBinary(route.schema, msg);
}

/** decode reads body as route's message, by the envelope's content type. */
export function decode(route: Route | ReplyRoute, body: Uint8Array, env: Envelope): MessageShape<DescMessage> {
  const why = `the body is not a valid ${route.type}, decoded as ${env.contentType} ${env.contentTypeFrom}`;
  try {
    switch (env.contentType) {
      case "application/protobuf":
      case "application/x-protobuf":
        return fromBinary(route.schema, body);
      case "application/json":
        return fromJson(route.schema, JSON.parse(new TextDecoder().decode(body)), { ignoreUnknownFields: true });
    }
  } catch (err) {
    throw new KindError("decode", `${why}: ${err instanceof Error ? err.message : String(err)}`);
  }
  throw new KindError("decode", `${why}: unsupported content-type "${env.contentType}" (${env.contentTypeFrom}): use application/protobuf or application/json`);
}

