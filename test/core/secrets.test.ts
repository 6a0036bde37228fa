import { describe, expect, it } from 'vitest';
import { DEVICE_ACCOUNT_COST, SecretVerifier, hashSecret, verifySecret } from '../../core/secrets.js';

describe('hash costs', () => {
  it('records its own cost in each hash, so default and device-account hashes both verify', () => {
    const device = hashSecret('pw', DEVICE_ACCOUNT_COST);
    const edge = hashSecret('pw');
    expect(device.startsWith('scrypt$16384$1$1$')).toBe(true);
    expect(edge.startsWith('scrypt$16384$8$1$')).toBe(true);
    expect(verifySecret('pw', device) && verifySecret('pw', edge)).toBe(true);
    expect(verifySecret('PW', device)).toBe(false);
  });
});

describe('SecretVerifier', () => {
  it('accepts the right secret, refuses a wrong one, and remembers successes (a reconnect costs no scrypt)', async () => {
    const stored = hashSecret('correct horse');
    const v = new SecretVerifier();
    expect(await v.verify('wrong', stored)).toBe(false);
    const t0 = performance.now();
    expect(await v.verify('correct horse', stored)).toBe(true);
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 20; i++) expect(await v.verify('correct horse', stored)).toBe(true);
    const twenty = performance.now() - t1;
    expect(twenty).toBeLessThan(first); // twenty cached checks are cheaper than one scrypt
    expect(await v.verify('wrong', stored)).toBe(false); // failures are never cached as successes
  });

  it('runs at most `concurrency` scrypt checks at once; the rest wait their turn', async () => {
    const stored = hashSecret('s');
    for (const concurrency of [1, 3]) {
      const v = new SecretVerifier({ concurrency });
      let peak = 0;
      const timer = setInterval(() => (peak = Math.max(peak, v.active)), 1);
      // Distinct wrong secrets are never cached, so each one needs its own scrypt.
      const all = Promise.all(Array.from({ length: 5 }, (_, i) => v.verify(`wrong-${i}`, stored)));
      expect(v.active).toBe(concurrency);
      expect(await all).toEqual([false, false, false, false, false]);
      clearInterval(timer);
      expect(peak).toBeLessThanOrEqual(concurrency);
      expect(v.active).toBe(0);
    }
  });
});
