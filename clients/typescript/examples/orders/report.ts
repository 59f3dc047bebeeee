// One JSON line per step on stdout: the Go interop test reads them.

import type { MessageContext } from "@gobusdev/gobus";

export function report(what: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(what, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

/** received reports a handled message with its attributes. */
export function received(ctx: MessageContext, orderId: string, more: Record<string, unknown> = {}): void {
  report({
    received: ctx.type,
    orderId,
    id: ctx.id,
    source: ctx.source,
    correlationId: ctx.correlationId,
    causationId: ctx.causationId,
    attempt: ctx.attempt,
    delivery: ctx.delivery,
    ...more,
  });
}

/** untilStdinCloses resolves when the parent closes our stdin. */
export function untilStdinCloses(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
}
