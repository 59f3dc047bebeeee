// The retry policy and its numbers, as the Go runtime's RetryPolicy.

import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultRetryPolicy, maxAttempts, noRetries } from "@gobusdev/gobus";
import { attemptOf, retryDelay } from "../src/retry.js";
import { goDuration } from "../src/endpoint.js";

test("the default policy is 3 immediate retries, then delays of 1s, 2s, 4s ±10%, capped at 1m", () => {
  const p = defaultRetryPolicy();
  assert.deepEqual(p, { immediate: 3, delayed: 3, delayMs: 1000, maxDelayMs: 60_000, jitter: 0.1 });
  assert.equal(maxAttempts(p), 7);
  assert.equal(maxAttempts(noRetries()), 1);
  for (const [n, base] of [[1, 1000], [2, 2000], [3, 4000], [10, 60_000]] as const) {
    for (let i = 0; i < 20; i++) {
      const d = retryDelay(p, n);
      assert.ok(d >= base * 0.9 && d <= base * 1.1, `delay ${n}: ${d}, want ${base} ±10%`);
    }
  }
  assert.equal(retryDelay({ ...p, jitter: 0 }, 2), 2000);
});

test("attempts count immediate tries on the first delivery, then one per delivery", () => {
  const p = defaultRetryPolicy();
  assert.deepEqual([0, 1, 2, 3].map((t) => attemptOf(p, 1, t)), [1, 2, 3, 4]);
  assert.deepEqual([2, 3, 4].map((d) => attemptOf(p, d, 0)), [5, 6, 7]);
});

test("max handling times read as Go prints them", () => {
  assert.equal(goDuration(5 * 60_000), "5m0s");
  assert.equal(goDuration(1500), "1.5s");
  assert.equal(goDuration(250), "250ms");
  assert.equal(goDuration(3_600_000 + 2000), "1h0m2s");
});
