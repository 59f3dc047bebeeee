// Errors and the error kinds of the error stream (docs/wire.md, "Error kinds").

/** The values of gobus-error-kind. */
export type ErrorKind =
  | "malformed"
  | "wrong-subject"
  | "unknown-type"
  | "decode"
  | "unimplemented"
  | "unrecoverable"
  | "panic"
  | "too-large"
  | "timeout"
  | "exhausted-deliveries"
  | "handler";

/** GobusError is an error of this client, prefixed "gobus: ". */
export class GobusError extends Error {
  override name = "GobusError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("gobus: " + message, options);
  }
}

/**
 * UnrecoverableError marks a failure that retrying cannot help: the message
 * goes to the error stream at once, as "unrecoverable".
 */
export class UnrecoverableError extends Error {
  override name = "UnrecoverableError";
  constructor(readonly reason: unknown) {
    super("unrecoverable: " + (reason instanceof Error ? reason.message : String(reason)), { cause: reason });
  }
}

/** unrecoverable wraps err so that the message skips its retries. */
export function unrecoverable(err: unknown): UnrecoverableError {
  return new UnrecoverableError(err);
}

/** A failure the runtime itself found, with its kind; never retried unless kind is handler or timeout. */
export class KindError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "KindError";
  }
}

/** NotImplementedError is what generated Unimplemented handlers throw. */
export class NotImplementedError extends GobusError {
  override name = "NotImplementedError";
  constructor() {
    super("handler not implemented");
  }
}

/** kindOf is the error kind of a handler's failure. */
export function kindOf(err: unknown): ErrorKind {
  if (err instanceof KindError) return err.kind;
  if (err instanceof UnrecoverableError) return "unrecoverable";
  if (err instanceof NotImplementedError) return "unimplemented";
  return "handler";
}

/** retryable reports whether kind is one the retry policy retries. */
export function retryable(kind: ErrorKind): boolean {
  return kind === "handler" || kind === "timeout";
}

/** typeName is the error's type for gobus-error-type: its constructor's name. */
export function typeName(err: unknown): string {
  if (err instanceof UnrecoverableError) return typeName(err.reason);
  if (err instanceof Error) return err.constructor.name || err.name;
  return typeof err;
}

/** messageOf is an error's text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
