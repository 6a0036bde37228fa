// Rate cap for draining the backlog (items per second). A chunk may overdraw the bucket; the debt is
// paid back before the next backlog chunk goes, so the long-run rate holds for any chunk size.

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Burst allowance: a tenth of a second's worth, so the drain is even rather than one big gulp per second. */
  private readonly capacity: number;

  constructor(private readonly ratePerSecond: number, private readonly now: () => number = Date.now) {
    if (!(ratePerSecond > 0)) throw new Error(`rate must be positive, got ${ratePerSecond}`);
    this.capacity = ratePerSecond / 10;
    this.tokens = this.capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) * this.ratePerSecond) / 1000);
    this.last = t;
  }

  /** Takes `n` items if the bucket is not in debt; otherwise returns the ms to wait. */
  take(n: number): { ok: true } | { ok: false; waitMs: number } {
    this.refill();
    if (this.tokens <= 0) return { ok: false, waitMs: Math.max(1, Math.ceil((-this.tokens * 1000) / this.ratePerSecond) + 1) };
    this.tokens -= n;
    return { ok: true };
  }
}
