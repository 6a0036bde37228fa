// Rate-limited reporting of bad input. A peer sending garbage must cost us one log line per interval, not one
// per frame: the first occurrence of a (peer, kind) is logged at once, later ones in the same interval are only
// counted, and the next line after the interval carries how many were suppressed. Keys are bounded so a flood of
// distinct peers (UDP source ports, spoofed addresses) cannot grow memory either.

export interface ProblemLogger {
  warn(obj: object, msg?: string): void;
}

export interface ProblemLogOptions {
  /** One line per (peer, kind) per this many ms. Default 60 000. */
  intervalMs?: number;
  /** Distinct (peer, kind) keys remembered; beyond it the oldest are forgotten (their counts folded into `other`). Default 10 000. */
  maxKeys?: number;
  now?: () => number;
}

interface KeyState {
  loggedAt: number;
  suppressed: number;
}

export class ProblemLog {
  private readonly keys = new Map<string, KeyState>();
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** Problems reported in total (logged or suppressed). */
  total = 0;
  /** Lines actually written. */
  lines = 0;

  constructor(
    private readonly log: ProblemLogger,
    opts: ProblemLogOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Reports one problem of `kind` from `peer`. Returns true when a line was written. `fields` should be small
   * (ids, a short detail); never pass raw input or secrets.
   */
  report(peer: string, kind: string, msg: string, fields: Record<string, unknown> = {}): boolean {
    this.total++;
    const key = `${peer}\u0000${kind}`;
    const now = this.now();
    const s = this.keys.get(key);
    if (s && now - s.loggedAt < this.intervalMs) {
      s.suppressed++;
      return false;
    }
    const suppressed = s?.suppressed ?? 0;
    if (s) this.keys.delete(key); // re-insert: Map order is then least-recently-logged first
    this.keys.set(key, { loggedAt: now, suppressed: 0 });
    if (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value!);
    this.lines++;
    const extra = suppressed ? { suppressed, intervalS: Math.round(this.intervalMs / 1000) } : {};
    this.log.warn({ peer, kind, ...fields, ...extra }, msg);
    return true;
  }

  /** Forgets a peer's keys (e.g. when its connection closes) so memory follows live peers. */
  forgetPeer(peer: string): void {
    const prefix = `${peer}\u0000`;
    for (const k of this.keys.keys()) if (k.startsWith(prefix)) this.keys.delete(k);
  }

  get trackedKeys(): number {
    return this.keys.size;
  }
}

/** Shortens untrusted text for a log line: at most `max` characters, control characters escaped. */
export function excerpt(input: string | Uint8Array, max = 64): string {
  const s = typeof input === 'string' ? input : Buffer.from(input.subarray(0, max * 2)).toString('latin1');
  const cut = s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
