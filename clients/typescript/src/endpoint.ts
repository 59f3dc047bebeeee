// Endpoint: a TypeScript gobus endpoint. It consumes its queue and its
// events with durable pull consumers and handles each message as the Go
// runtime does (docs/wire.md, "Processing semantics"): ack after the
// handler succeeded and its outgoing messages are stored; retries by the
// retry policy (immediate, then NakWithDelay); then the error stream with
// the failure headers, and the original terminated.

import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, RetentionPolicy, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { ClaimError, dataRef } from "./claim.js";
import { Client, decode, encode, type Outgoing, type Publisher, type Sender, type SendOptions } from "./client.js";
import { GobusError, KindError, kindOf, messageOf, retryable, typeName, UnrecoverableError, type ErrorKind } from "./errors.js";
import { eventFilterSubjects, filteredOn, filterTokens, type EventFilter } from "./filter.js";
import { DerivedIds } from "./ids.js";
import { attemptOf, crashAllowance, defaultRetryPolicy, maxAttempts, retryDelay, type RetryPolicy } from "./retry.js";
import type { CommandRoute, EventRoute, ReplyRoute, Route, RouteMessage } from "./routes.js";
import { escapeHeaderValue, Header, parseEnvelope, type Envelope } from "./wire.js";

/** A handler of one message type. */
export type Handler<R extends Route | ReplyRoute> = (ctx: MessageContext, msg: RouteMessage<R>) => Promise<void>;

/** Logger is where the endpoint says what went wrong; console fits. */
export interface Logger {
  warn(message: string, ...more: unknown[]): void;
  error(message: string, ...more: unknown[]): void;
}

/** EndpointOptions configure an Endpoint. */
export interface EndpointOptions {
  /** The retry policy of every message type; default defaultRetryPolicy(). */
  retryPolicy?: RetryPolicy;
  /** Handlers running at once; default 16. */
  concurrency?: number;
  /** The consumers' AckWait in ms; default 30000. In-progress acks go at half of it. */
  ackWaitMs?: number;
  /** The consumers' MaxAckPending; default 1000. */
  maxAckPending?: number;
  /**
   * How long a handler may work on one message, per try, in ms; default
   * 5 minutes. Then its signal aborts and the try fails as a timeout; a
   * handler still running a second later is given up, and what it does
   * when it returns is dropped.
   */
  maxHandlingTimeMs?: number;
  /**
   * Create or update the queue stream and the consumers at start (default
   * true). Off, as gobus's WithoutInstaller, start only looks the
   * consumers up and fails if one is missing.
   */
  installer?: boolean;
  /** Default console. */
  logger?: Logger;
}

interface Registration {
  route: Route | ReplyRoute;
  handler: (ctx: MessageContext, msg: MessageShape<DescMessage>) => Promise<void>;
  /** An event's consumer filter subjects. */
  subjects?: string[];
}

/**
 * MessageContext is what a handler gets with its message: the message's
 * attributes, and send and publish for its outgoing messages, which are
 * stored only once the handler succeeds, with ids derived from the
 * incoming id.
 */
export class MessageContext implements Sender, Publisher {
  /** The message's ce-id. */
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly subject: string;
  /** The conversation id: ce-correlationid, or the message's own id. */
  readonly correlationId: string;
  readonly causationId: string | undefined;
  readonly time: Date | undefined;
  /** 1 on the first try, counting immediate and delayed retries. */
  readonly attempt: number;
  /** The JetStream delivery count, 1 the first time. */
  readonly delivery: number;
  /** Aborted when the endpoint stops or the try runs past its max handling time. */
  readonly signal: AbortSignal;
  /** Where the command's reply goes (ce-gobusreplyto), if it asked for one. */
  readonly replyTo: string | undefined;
  /** The outgoing messages so far. */
  readonly outgoing: Outgoing[] = [];
  private readonly ids: DerivedIds;
  private readonly route: Route | ReplyRoute;

  constructor(
    private readonly endpoint: Endpoint,
    route: Route | ReplyRoute,
    env: Envelope,
    subject: string,
    attempt: number,
    delivery: number,
    signal: AbortSignal,
  ) {
    this.id = env.id;
    this.type = env.type;
    this.source = env.source;
    this.subject = subject;
    this.correlationId = env.correlationId ?? env.id;
    this.causationId = env.causationId;
    this.time = env.time;
    this.attempt = attempt;
    this.delivery = delivery;
    this.signal = signal;
    this.replyTo = env.replyTo;
    this.route = route;
    this.ids = new DerivedIds(endpoint.name, env.id);
  }

  /**
   * reply answers the command being handled with msg, sent after the
   * handler succeeds to whoever asked (docs/wire.md, "Replies"): a waiting
   * client's subject on core NATS, after the rest is stored, or an
   * endpoint's reply subject through JetStream. Without ce-gobusreplyto
   * nobody asked, and the reply is dropped.
   */
  reply<R extends ReplyRoute>(route: R, msg: RouteMessage<R>): Promise<void> {
    if (this.route.kind !== "command" || !this.route.replies.includes(route.type)) {
      // No retry can fix the contract.
      return Promise.reject(
        new UnrecoverableError(new GobusError(`${this.type} does not declare reply ${route.type}: add it to the command's replies, as in option (gobus.v1.command) = { replies: ["${route.type}"] }`)),
      );
    }
    const to = this.replyTo;
    const names = this.endpoint.client.names;
    if (to === undefined) return Promise.resolve();
    const durable = to.startsWith(names.prefix + ".reply.");
    if (!durable && (to.startsWith(names.prefix + ".") || to.startsWith("$"))) {
      this.endpoint.warn(`dropped a reply to ${to}: a reply goes to a client's own subject or to ${names.prefix}.reply.<endpoint>`);
      return Promise.resolve();
    }
    const data = encode(route, msg);
    const id = this.ids.next(to, route.type, data);
    const out = this.endpoint.client.outgoing(route, data, { id, source: this.endpoint.name, correlationId: this.correlationId, causationId: this.id }, to);
    if (!durable) out.core = true;
    this.outgoing.push(out);
    return Promise.resolve();
  }

  /**
   * send sends a command once the handler succeeded. If this endpoint
   * handles the command's replies (registerXReplyHandler), or
   * opts.replyTo names an endpoint, the reply is asked for in that
   * endpoint's queue.
   */
  send<R extends CommandRoute>(route: R, msg: RouteMessage<R>, opts: SendOptions = {}): Promise<void> {
    return this.add(route, msg, opts);
  }

  publish<R extends EventRoute>(route: R, msg: RouteMessage<R>, opts: SendOptions = {}): Promise<void> {
    return this.add(route, msg, opts);
  }

  private add(route: Route, msg: MessageShape<DescMessage>, opts: SendOptions): Promise<void> {
    const client = this.endpoint.client;
    const data = encode(route, msg);
    const subject = client.subjectOf(route, msg);
    const id = opts.messageId ?? this.ids.next(subject, route.type, data);
    const replyEndpoint = opts.replyTo ?? (route.kind === "command" && this.endpoint.handlesRepliesOf(route) ? this.endpoint.name : undefined);
    this.outgoing.push(
      client.outgoing(
        route,
        data,
        {
          id,
          source: this.endpoint.name,
          correlationId: opts.correlationId ?? this.correlationId,
          causationId: this.id,
          ...(replyEndpoint !== undefined ? { replyTo: client.names.replySubject(replyEndpoint) } : {}),
        },
        subject,
      ),
    );
    return Promise.resolve();
  }
}

const defaultConcurrency = 16;
const defaultMaxHandlingTimeMs = 5 * 60_000;
const overrunGraceMs = 1000;

/** goDuration writes ms as Go's time.Duration prints it, for the same error text: 5m0s, 1.5s, 250ms. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return (h > 0 ? `${h}h` : "") + (h > 0 || m > 0 ? `${m}m` : "") + `${s}s`;
}

export class Endpoint {
  private readonly routes = new Map<string, Registration>();
  private readonly policy: RetryPolicy;
  private readonly concurrency: number;
  private readonly ackWaitMs: number;
  private readonly maxAckPending: number;
  private readonly maxHandlingTimeMs: number;
  private readonly installer: boolean;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly consumers: ConsumerMessages[] = [];
  private started = false;
  private closing = false;
  private stopped: Promise<void> | undefined;

  constructor(
    readonly client: Client,
    readonly name: string,
    opts: EndpointOptions = {},
  ) {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) {
      throw new GobusError(`invalid endpoint name "${name}": one NATS token of letters, digits, '-' and '_'`);
    }
    this.policy = opts.retryPolicy ?? defaultRetryPolicy();
    this.concurrency = opts.concurrency ?? defaultConcurrency;
    this.ackWaitMs = opts.ackWaitMs ?? 30_000;
    this.maxAckPending = opts.maxAckPending ?? 1000;
    this.maxHandlingTimeMs = opts.maxHandlingTimeMs ?? defaultMaxHandlingTimeMs;
    this.installer = opts.installer ?? true;
    this.log = opts.logger ?? console;
  }

  /**
   * handle registers the handler of route's messages; generated registerX
   * functions call it. For an event whose contract names filter fields,
   * filters select the events the endpoint receives (any of them
   * matches; none takes every event): its consumer on the events stream
   * is filtered to their subjects, so the server does the filtering.
   */
  handle<R extends Route>(route: R, handler: Handler<R>, filters: readonly EventFilter[] = []): void {
    if (this.started) throw new GobusError(`endpoint ${this.name}: handle ${route.type} before start`);
    if (this.routes.has(route.type)) throw new GobusError(`endpoint ${this.name}: ${route.type} has a handler already`);
    if (route.kind === "command" && route.endpoint !== this.name) {
      throw new GobusError(`endpoint ${this.name}: the command ${route.type} goes to endpoint ${route.endpoint}`);
    }
    const reg: Registration = { route, handler: handler as Registration["handler"] };
    if (route.kind === "command" && filters.length > 0) {
      throw new GobusError(`endpoint ${this.name}: ${route.type} is a command; only events are filtered`);
    }
    if (route.kind === "event") {
      if (filters.length > 0 && route.filter.length === 0) {
        throw new GobusError(
          `event ${route.type} has no filter fields, so a handler for it cannot filter: name them in its contract, as in option (gobus.v1.event) = { filter_fields: ["region"] }`,
        );
      }
      const tokens = filters.map((f) => filterTokens(route, f));
      try {
        reg.subjects = eventFilterSubjects(this.client.names.subject(route), route.filter.length, tokens);
      } catch (err) {
        throw new GobusError(`endpoint ${this.name}, event ${route.type} (filter fields ${route.filter.join(", ")}): ${messageOf(err)}`);
      }
    }
    this.routes.set(route.type, reg);
  }

  /**
   * handleReply registers the handler of reply's messages that answer the
   * commands on route command this endpoint sends: durable replies, which
   * wait in the endpoint's queue (its reply subject) while it is down.
   * The generated registerXReplyHandler functions call it.
   */
  handleReply<C extends CommandRoute, R extends ReplyRoute>(command: C, reply: R, handler: Handler<R>): void {
    if (!command.replies.includes(reply.type)) {
      throw new GobusError(`endpoint ${this.name}: ${command.type} does not declare reply ${reply.type}`);
    }
    if (this.started) throw new GobusError(`endpoint ${this.name}: handle ${reply.type} before start`);
    if (this.routes.has(reply.type)) throw new GobusError(`endpoint ${this.name}: ${reply.type} has a handler already`);
    this.routes.set(reply.type, { route: reply, handler: handler as Registration["handler"] });
  }

  /** handlesRepliesOf reports whether this endpoint handles a reply of command. */
  handlesRepliesOf(command: CommandRoute): boolean {
    return command.replies.some((t) => this.routes.get(t)?.route.kind === "reply");
  }

  /**
   * start creates the endpoint's queue stream if missing, creates or
   * updates its consumers, and starts handling.
   */
  async start(): Promise<void> {
    if (this.started) throw new GobusError(`endpoint ${this.name} is started already`);
    this.started = true;
    const { names, js } = this.client;
    const queue = names.queueStream(this.name);
    const subjects = [
      `${names.prefix}.cmd.${this.name}.>`,
      names.retrySubject(this.name),
      names.replySubject(this.name),
      `${names.prefix}.sched.cmd.${this.name}.*`,
    ];
    const events = [...this.routes.values()].flatMap((r) => (r.route.kind === "event" ? (r.subjects ?? [names.subject(r.route)]) : []));
    const streams = events.length > 0 ? [queue, names.eventsStream] : [queue];
    if (this.installer) await this.install(queue, subjects, events);
    for (const stream of streams) {
      const consumer = await js.consumers.get(stream, this.name).catch((err: unknown) => {
        throw new GobusError(`endpoint ${this.name}: no consumer ${this.name} on stream ${stream}: ${messageOf(err)} (without the installer, an operator creates it: docs/wire.md, Consumers)`, { cause: err });
      });
      const messages = await consumer.consume({ max_messages: this.concurrency });
      this.consumers.push(messages);
      this.loops.push(this.run(messages));
    }
  }

  /** install creates or updates the queue stream and the consumers, as gobus's installer does. */
  private async install(queue: string, subjects: string[], events: string[]): Promise<void> {
    const { names, jsm } = this.client;
    await this.client.ensureStream({ name: queue, subjects, retention: RetentionPolicy.Workqueue, max_age: 0 });
    const info = await jsm.streams.info(queue);
    const missing = subjects.filter((s) => !info.config.subjects?.includes(s));
    if (missing.length > 0 || !info.config.allow_msg_schedules) {
      await jsm.streams.update(queue, {
        subjects: [...(info.config.subjects ?? []), ...missing],
        allow_msg_schedules: true,
        allow_rollup_hdrs: true,
      });
    }
    const settings = {
      durable_name: this.name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: this.ackWaitMs * 1e6,
      max_ack_pending: this.maxAckPending,
      max_deliver: -1,
    };
    // All but the schedules, which the server moves to their subjects when due.
    await this.ensureConsumer(queue, { ...settings, deliver_policy: DeliverPolicy.All, filter_subjects: subjects.slice(0, 3) });
    if (events.length > 0) {
      await this.ensureConsumer(names.eventsStream, { ...settings, deliver_policy: DeliverPolicy.New, filter_subjects: events });
    }
  }

  private async ensureConsumer(stream: string, cfg: Record<string, unknown> & { durable_name: string }): Promise<void> {
    const { jsm } = this.client;
    try {
      await jsm.consumers.info(stream, cfg.durable_name);
    } catch {
      await jsm.consumers.add(stream, cfg);
      return;
    }
    const { deliver_policy: _deliver, durable_name: _durable, ...update } = cfg;
    await jsm.consumers.update(stream, cfg.durable_name, update);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.closing) {
        m.nak(); // prefetched while stopping: back at once, for another instance
        continue;
      }
      await this.slot();
      const p = this.process(m).catch((err: unknown) => this.log.error(`gobus: endpoint ${this.name}: processing failed`, err));
      this.inflight.add(p);
      void p.finally(() => {
        this.inflight.delete(p);
        this.waiting.shift()?.();
      });
    }
  }

  private slot(): Promise<void> {
    if (this.inflight.size < this.concurrency) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** process handles one delivered message, under the retry policy. */
  private async process(m: JsMsg): Promise<void> {
    const delivery = m.info.deliveryCount;
    let env: Envelope;
    let reg: Registration;
    let msg: MessageShape<DescMessage>;
    let claim: string | undefined; // a command's claimed body, removed once handled
    try {
      env = parseEnvelope(m.headers);
      reg = this.lookup(env, m.subject);
      let body = m.data;
      const ref = dataRef(m.headers);
      if (ref !== undefined) {
        const claimed = await this.claimed(m, ref);
        if (claimed === undefined) return;
        body = claimed.data;
        if (reg.route.kind !== "event") claim = claimed.object;
      }
      msg = decode(reg.route, body, env);
    } catch (err) {
      return this.moveToErrors(m, err instanceof KindError ? err : new KindError(err instanceof Error && err.name === "MalformedError" ? "malformed" : "decode", messageOf(err)), 1);
    }
    if (delivery > 1 + this.policy.delayed + crashAllowance) {
      const err = new KindError("exhausted-deliveries", `delivered ${delivery} times without an outcome: the process handling it may be crashing or timing out`);
      return this.moveToErrors(m, err, maxAttempts(this.policy));
    }
    for (let tryIndex = 0; ; tryIndex++) {
      const attempt = attemptOf(this.policy, delivery, tryIndex);
      const tryAbort = new AbortController();
      const signal = AbortSignal.any([this.stopping.signal, tryAbort.signal]);
      const ctx = new MessageContext(this, reg.route, env, m.subject, attempt, delivery, signal);
      const err = await this.attempt(m, reg, ctx, msg, tryAbort);
      if (err === undefined) {
        await this.ack(m, claim);
        return;
      }
      const kind = kindOf(err);
      if (this.stopping.signal.aborted && retryable(kind)) {
        m.nak(); // handed back for another instance or the next start
        return;
      }
      if (!retryable(kind)) return this.moveToErrors(m, err, attempt);
      if (delivery === 1 && tryIndex < this.policy.immediate) continue;
      if (delivery > this.policy.delayed) return this.moveToErrors(m, err, attempt);
      const delay = retryDelay(this.policy, delivery);
      this.log.warn(`gobus: endpoint ${this.name}: ${env.type} ${env.id} failed on attempt ${attempt}; delivered again in ${delay}ms: ${messageOf(err)}`);
      m.nak(delay);
      return;
    }
  }

  /**
   * claimed reads the body of m, sent by claim check with reference ref,
   * before decoding, as gobus endpoints do. A reference that cannot be
   * followed moves m to the error stream as unrecoverable; a fetch that
   * fails otherwise is tried again on a later delivery, by the retry
   * policy's delays. It returns undefined when it settled m.
   */
  private async claimed(m: JsMsg, ref: string): Promise<{ data: Uint8Array; object: string } | undefined> {
    try {
      return await this.client.claims.fetch(ref, m.headers);
    } catch (err) {
      if (err instanceof ClaimError) {
        await this.moveToErrors(m, new UnrecoverableError(err), 1);
        return undefined;
      }
      const why = new GobusError(`fetching the body sent by claim check (ce-dataref "${ref}"): ${messageOf(err)}`, { cause: err });
      const delivery = m.info.deliveryCount;
      if (delivery > this.policy.delayed) {
        await this.moveToErrors(m, why, attemptOf(this.policy, delivery, 0));
        return undefined;
      }
      const delay = retryDelay(this.policy, delivery);
      this.warn(`${why.message}; delivered again in ${delay}ms`);
      m.nak(delay);
      return undefined;
    }
  }

  /**
   * ack acknowledges a handled m. A command whose body came by claim
   * check is acknowledged with the server's confirmation, then its body
   * removed; if the removal fails, the bucket's max age removes it.
   */
  private async ack(m: JsMsg, claim: string | undefined): Promise<void> {
    if (claim === undefined) {
      m.ack();
      return;
    }
    try {
      if (!(await m.ackAck())) return; // not confirmed: it comes again, and needs its body
    } catch (err) {
      this.warn(`acknowledging a message failed; it will be delivered again: ${messageOf(err)}`);
      return;
    }
    await this.client.claims.remove(claim).catch((err: unknown) => {
      this.warn(`removing the body of a handled message (object ${claim}) from the claims bucket failed; the bucket's max age removes it: ${messageOf(err)}`);
    });
  }

  /** warn logs a warning of this endpoint. */
  warn(message: string): void {
    this.log.warn(`gobus: endpoint ${this.name}: ${message}`);
  }

  /** lookup finds the handler of env's type and checks the subject. */
  private lookup(env: Envelope, subject: string): Registration {
    const reg = this.routes.get(env.type);
    if (reg === undefined) {
      throw new KindError("unknown-type", `gobus: no route: endpoint ${this.name} has no handler for message type "${env.type}"`);
    }
    const names = this.client.names;
    if (reg.route.kind === "reply") {
      if (subject !== names.replySubject(this.name)) {
        throw new KindError("wrong-subject", `message type does not match its subject: the reply ${env.type} arrived on subject ${subject}, but replies come on ${names.replySubject(this.name)}`);
      }
      return reg;
    }
    const want = names.subject(reg.route);
    const filtered = reg.route.kind === "event" && filteredOn(reg.route, want, subject);
    if (subject !== want && !filtered && subject !== this.client.names.retrySubject(this.name)) {
      throw new KindError("wrong-subject", `message type does not match its subject: the ${reg.route.kind} ${env.type} arrived on subject ${subject}, but its subject is ${want}`);
    }
    return reg;
  }

  /**
   * attempt runs the handler once and, if it succeeds, stores what it
   * sent; it returns the failure. Past the max handling time the try's
   * signal aborts with a timeout; a second later the handler is given up.
   */
  private async attempt(m: JsMsg, reg: Registration, ctx: MessageContext, msg: MessageShape<DescMessage>, tryAbort: AbortController): Promise<unknown> {
    const timeout = new KindError("timeout", `the handler ran longer than its max handling time of ${goDuration(this.maxHandlingTimeMs)}`);
    const beat = setInterval(() => m.working(), Math.max(this.ackWaitMs / 2, 1));
    let limit: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    const givenUp = new Promise<"given up">((resolve) => {
      limit = setTimeout(() => {
        tryAbort.abort(timeout);
        grace = setTimeout(() => resolve("given up"), overrunGraceMs);
      }, this.maxHandlingTimeMs);
    });
    try {
      const outcome = await Promise.race([reg.handler(ctx, msg).then(() => "returned" as const), givenUp]);
      if (outcome === "given up" || tryAbort.signal.aborted) {
        if (outcome === "given up") this.warn(`a ${ctx.type} handler ran past its max handling time and was given up; what it does when it returns is dropped`);
        return timeout;
      }
      // Bodies over the claim limit are uploaded, and every size checked, before any is stored.
      await Promise.all(ctx.outgoing.map((out) => this.client.seal(out)));
      await Promise.all(ctx.outgoing.filter((out) => !out.core).map((out) => this.client.store(out)));
      // Replies to waiting clients go last, once the rest is stored.
      for (const out of ctx.outgoing.filter((out) => out.core)) await this.client.store(out);
      return undefined;
    } catch (err) {
      if (tryAbort.signal.aborted) return timeout;
      return err ?? new Error("handler threw " + String(err));
    } finally {
      clearInterval(beat);
      clearTimeout(limit);
      clearTimeout(grace);
    }
  }

  /** moveToErrors copies m to the error stream with the failure headers, then terminates it. */
  private async moveToErrors(m: JsMsg, err: unknown, attempts: number): Promise<void> {
    const kind: ErrorKind = kindOf(err);
    const h = headers();
    for (const k of m.headers?.keys() ?? []) {
      if (k.toLowerCase().startsWith("nats-")) continue;
      for (const v of m.headers?.values(k) ?? []) h.append(k, v);
    }
    h.set(Header.failedEndpoint, this.name);
    h.set(Header.failedSubject, m.subject);
    h.set(Header.failedStream, m.info.stream);
    h.set(Header.failedSequence, String(m.info.streamSequence));
    h.set(Header.failedAt, new Date().toISOString().replace(/\.\d+Z$/, "Z"));
    h.set(Header.attempts, String(attempts));
    h.set(Header.errorKind, kind);
    h.set(Header.errorType, typeName(err));
    h.set(Header.errorMessage, escapeHeaderValue(messageOf(err), 4096));
    h.set(Header.msgId, `failed:${this.name}:${m.info.stream}:${m.info.streamSequence}`);
    try {
      await this.client.js.publish(this.client.names.errorSubject(this.name), m.data, { headers: h });
    } catch (e) {
      this.log.error(`gobus: endpoint ${this.name}: moving a failed message to the error stream failed; it will be delivered again`, e);
      m.nak();
      return;
    }
    this.log.warn(`gobus: endpoint ${this.name}: moved a message to the error stream (${kind}): ${messageOf(err)}`);
    m.term(`gobus: moved to ${this.client.names.errorSubject(this.name)}: ${kind}`);
  }

  /**
   * stop stops fetching, waits up to timeoutMs for the handlers in flight,
   * then aborts their signal; unfinished messages are delivered again.
   * It is idempotent.
   */
  stop(timeoutMs = 10_000): Promise<void> {
    this.stopped ??= (async () => {
      this.closing = true;
      for (const c of this.consumers) c.stop();
      await Promise.all(this.loops);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.allSettled([...this.inflight]), deadline]);
      clearTimeout(timer);
      this.stopping.abort();
      await Promise.allSettled([...this.inflight]);
    })();
    return this.stopped;
  }
}
