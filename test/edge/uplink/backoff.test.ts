import { describe, expect, it } from 'vitest';
import { backoffDelay, TokenBucket } from '../../../edge/uplink/index.js';

describe('backoffDelay (exponential, full jitter)', () => {
  const o = { minMs: 100, maxMs: 5000 };
  it('spans [min, min*2^n] capped at max', () => {
    expect(backoffDelay(0, o, () => 0)).toBe(100);
    expect(backoffDelay(0, o, () => 0.999999)).toBe(100);
    expect(backoffDelay(3, o, () => 0)).toBe(100);
    expect(backoffDelay(3, o, () => 1)).toBe(800);
    expect(backoffDelay(20, o, () => 1)).toBe(5000);
    expect(backoffDelay(1000, o, () => 1)).toBe(5000);
  });
  it('spreads many edges over the whole window', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(10, o));
    const lowHalf = delays.filter((d) => d < 2550).length;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
    expect(lowHalf).toBeGreaterThan(800);
    expect(lowHalf).toBeLessThan(1200);
  });
});

describe('TokenBucket', () => {
  it('holds the long-run rate even when takes overdraw it', () => {
    let t = 0;
    const b = new TokenBucket(1000, () => t);
    expect(b.take(500)).toEqual({ ok: true }); // 100 of burst, 400 in debt
    const wait = b.take(1);
    expect(wait.ok).toBe(false);
    expect(wait.ok === false && wait.waitMs).toBeGreaterThanOrEqual(400);
    t += 401;
    expect(b.take(1).ok).toBe(true);
  });
});
