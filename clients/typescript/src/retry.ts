// The retry policy, the Go runtime's RetryPolicy: immediate retries in
// process on the first delivery, then delayed deliveries by NakWithDelay,
// then the error stream.

/** RetryPolicy says how a failing message is retried. */
export interface RetryPolicy {
  /** Retries at once, in process, after the first failure. */
  immediate: number;
  /** Delayed deliveries that follow. */
  delayed: number;
  /** Milliseconds before the first delayed delivery; doubles each time. */
  delayMs: number;
  /** Caps the doubling. */
  maxDelayMs: number;
  /** Spreads each delay by up to this fraction either way (0 to 1). */
  jitter: number;
}

/** 3 immediate retries, then 3 delayed deliveries after about 1s, 2s and 4s (±10%), capped at 1 minute. */
export function defaultRetryPolicy(): RetryPolicy {
  return { immediate: 3, delayed: 3, delayMs: 1000, maxDelayMs: 60_000, jitter: 0.1 };
}

/** No retries: the first failure moves the message to the error stream. */
export function noRetries(): RetryPolicy {
  return { immediate: 0, delayed: 0, delayMs: 0, maxDelayMs: 0, jitter: 0 };
}

/** How many times a message is tried in all. */
export function maxAttempts(p: RetryPolicy): number {
  return 1 + p.immediate + p.delayed;
}

/** The wait before delayed round n (1-based), with jitter. */
export function retryDelay(p: RetryPolicy, n: number): number {
  let d = p.delayMs;
  for (let i = 1; i < n && d < p.maxDelayMs; i++) d *= 2;
  d = Math.min(d, p.maxDelayMs);
  if (p.jitter > 0) d *= 1 + (Math.random() * 2 - 1) * p.jitter;
  return Math.max(Math.round(d), 1);
}

/** The attempt number of try (0-based) within delivery (1-based). */
export function attemptOf(p: RetryPolicy, delivery: number, tryIndex: number): number {
  return delivery <= 1 ? 1 + tryIndex : 1 + p.immediate + (delivery - 1);
}

/** A redelivered message without an outcome is given this many extra deliveries. */
export const crashAllowance = 3;
