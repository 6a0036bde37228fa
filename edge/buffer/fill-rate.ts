// Recent growth rate of the buffer, for "estimated seconds until full".

export class FillRate {
  private samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 60_000) {}

  add(t: number, bytes: number): void {
    this.samples.push({ t, bytes });
    // Keep one sample older than the window so the estimate always spans the whole window.
    while (this.samples.length > 2 && this.samples[1]!.t < t - this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; 0 when shrinking or not enough history. */
  bytesPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t - first.t < 200) return 0;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.t - first.t));
  }

  /** Seconds until `maxBytes` at the recent rate; 0 when already full, null when not growing. */
  secondsToFull(bytes: number, maxBytes: number): number | null {
    if (bytes >= maxBytes) return 0;
    const rate = this.bytesPerSecond();
    return rate > 0 ? (maxBytes - bytes) / rate : null;
  }
}
