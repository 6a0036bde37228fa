// Pure helpers for the delivery queue: when to retry a failed delivery, and a per-robot rate limit (WeCom and
// DingTalk robots accept about 20 messages a minute; past that they answer an error and drop the message).
import type { DeliveryResult } from './types.js';

export interface RetryPolicy {
  /** Attempts in total, the first included. Default 6. */
  maxAttempts: number;
  /** Delay before the 2nd attempt. Default 10 s. */
  baseDelayMs: number;
  /** Upper bound of any delay. Default 15 min. */
  maxDelayMs: number;
  /** Growth per attempt. Default 3. */
  factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 10_000, maxDelayMs: 15 * 60_000, factor: 3 };

/**
 * The delay before attempt `attempt + 1` after `result` failed, or undefined when it should not be retried
 * (delivered, permanent failure, attempts used up). Exponential with "equal jitter" (half fixed, half random) so
 * many deliveries failing together do not retry in lockstep; a receiver's or rate limiter's `retryAfterMs` is a floor.
 */
export function nextRetryDelay(result: Pick<DeliveryResult, 'ok' | 'retryable' | 'retryAfterMs' | 'attempt'>, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number | undefined {
  if (result.ok || result.retryable === false || result.attempt >= policy.maxAttempts) return undefined;
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** Math.max(0, result.attempt - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.min(policy.maxDelayMs, Math.max(jittered, result.retryAfterMs ?? 0));
}

/**
 * Sliding-window limiter: at most `limit` sends per `windowMs` per key (one key per robot). Keys are bounded:
 * the least recently used key is forgotten beyond `maxKeys`.
 */
export class RateLimiter {
  private readonly sent = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    private readonly maxKeys = 1000,
  ) {}

  /** Takes one slot for `key` at `now`: 0 when allowed, else the ms until a slot frees (nothing is taken then). */
  take(key: string, now: number): number {
    const times = (this.sent.get(key) ?? []).filter((t) => now - t < this.windowMs);
    this.sent.delete(key); // re-inserted below: Map order is least recently used first
    if (times.length >= this.limit) {
      this.sent.set(key, times);
      return times[0]! + this.windowMs - now;
    }
    times.push(now);
    this.sent.set(key, times);
    if (this.sent.size > this.maxKeys) this.sent.delete(this.sent.keys().next().value!);
    return 0;
  }
}
