import { describe, expect, it } from 'vitest';
import { digestOrSingles } from '../../../collector/notify/index.js';
import { DEFAULT_RETRY, nextRetryDelay, RateLimiter } from '../../../collector/notify/policy.js';
import { raised } from './fixtures.js';

describe('retry policy', () => {
  it('backs off exponentially with jitter inside [half, full] of the step, capped', () => {
    const failed = (attempt: number) => ({ ok: false, retryable: true, attempt });
    expect(nextRetryDelay(failed(1), DEFAULT_RETRY, () => 0)).toBe(5_000);
    expect(nextRetryDelay(failed(1), DEFAULT_RETRY, () => 1)).toBe(10_000);
    expect(nextRetryDelay(failed(2), DEFAULT_RETRY, () => 1)).toBe(30_000);
    expect(nextRetryDelay(failed(3), DEFAULT_RETRY, () => 0.5)).toBe(67_500);
    expect(nextRetryDelay(failed(5), DEFAULT_RETRY, () => 1)).toBe(810_000);
    expect(nextRetryDelay(failed(7), { ...DEFAULT_RETRY, maxAttempts: 10 }, () => 1)).toBe(15 * 60_000);
  });

  it('does not retry deliveries, permanent failures or spent attempts; honours retryAfterMs', () => {
    expect(nextRetryDelay({ ok: true, attempt: 1 })).toBeUndefined();
    expect(nextRetryDelay({ ok: false, retryable: false, attempt: 1 })).toBeUndefined();
    expect(nextRetryDelay({ ok: false, retryable: true, attempt: 6 })).toBeUndefined();
    expect(nextRetryDelay({ ok: false, retryable: true, attempt: 1, retryAfterMs: 45_000 }, DEFAULT_RETRY, () => 0)).toBe(45_000);
  });
});

describe('rate limiter', () => {
  it('allows `limit` per window per key and says when the next slot frees', () => {
    const rl = new RateLimiter(3, 60_000);
    expect([rl.take('a', 0), rl.take('a', 10_000), rl.take('a', 20_000)]).toEqual([0, 0, 0]);
    expect(rl.take('a', 30_000)).toBe(30_000); // the first slot frees at 60 s
    expect(rl.take('b', 30_000)).toBe(0); // other robots are independent
    expect(rl.take('a', 60_000)).toBe(0);
    expect(rl.take('a', 60_001)).toBe(9_999);
  });

  it('forgets the least recently used keys beyond its bound', () => {
    const rl = new RateLimiter(1, 60_000, 2);
    rl.take('a', 0);
    rl.take('b', 0);
    rl.take('c', 0); // evicts a
    expect(rl.take('a', 1)).toBe(0);
    expect(rl.take('c', 1)).toBeGreaterThan(0);
  });
});

describe('digestOrSingles', () => {
  it('sends a few transitions on their own and a storm as one digest', () => {
    const items = Array.from({ length: 8 }, (_, i) => ({ ...raised, at: raised.at + i }));
    expect(digestOrSingles(items.slice(0, 5), 5)).toHaveLength(5);
    const [d] = digestOrSingles(items, 5);
    expect(d).toMatchObject({ type: 'digest', at: raised.at + 7, total: 8 });
  });
});
