// Backfill after an outage (补传): which minute / hourly periods of each station never arrived, so the edge can
// ask the station for them with a history request — the data CN itself (2051 minute, 2061 hourly) with
// BeginTime / EndTime, as HJ 212-2017 defines — when the station connects again, and when a later period shows a
// hole behind it. Remembered per station (MN) in a small JSON file in the adapter's data directory, so an edge that
// was down itself (power cut) asks for what its stations kept meanwhile.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BackfillKind {
  /** The data CN asked for: 2051 minute data, 2061 hourly data. */
  cn: string;
  /** One period per interval (minute data: the station's minute interval; hourly data: 1 h). */
  intervalMs: number;
}

export interface HistoryRange {
  cn: string;
  /** DataTime of the first and last missing period (both included, as BeginTime / EndTime). */
  begin: number;
  end: number;
  periods: number;
}

const DAY_MS = 86_400_000;

export interface TrackerOptions {
  /** Where the periods seen are kept (undefined: memory only). */
  file?: string;
  /** How far back holes are looked for (default 7 days: what stations typically keep). */
  windowMs?: number;
  /** Ranges asked for at once per station and kind (default 24): a station is not flooded with requests. */
  maxRanges?: number;
}

/** Periods seen per station and kind; the holes among them. */
export class HistoryTracker {
  private readonly seen = new Map<string, Map<string, Set<number>>>();
  /** Periods received but not yet durable: not missing, and a second copy is not new. */
  private readonly pending = new Set<string>();
  private readonly windowMs: number;
  private readonly maxRanges: number;
  private dirty = false;

  constructor(private readonly opts: TrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? 7 * DAY_MS;
    this.maxRanges = opts.maxRanges ?? 24;
    if (!opts.file) return;
    try {
      const doc = JSON.parse(readFileSync(opts.file, 'utf8')) as Record<string, Record<string, number[]>>;
      for (const [mn, kinds] of Object.entries(doc)) {
        for (const [cn, list] of Object.entries(kinds)) {
          const set = this.kind(mn, cn, true)!;
          for (const t of list) if (Number.isSafeInteger(t)) set.add(t);
        }
      }
    } catch {
      // no file yet, or unreadable: start empty (nothing is asked for until periods are seen again)
    }
  }

  private kind(mn: string, cn: string, create: boolean): Set<number> | undefined {
    let byCn = this.seen.get(mn);
    if (!byCn && create) this.seen.set(mn, (byCn = new Map()));
    let set = byCn?.get(cn);
    if (!set && create) byCn!.set(cn, (set = new Set()));
    return set;
  }

  /**
   * A period arrived (live or as history): true when it is new — neither stored already nor on its way — so its
   * data is to be kept; a copy of a period already held (a station resending on its own after answering a
   * history request) is not. Settle it once its data is durable (or is not).
   */
  claim(mn: string, kind: BackfillKind, dataTime: number): boolean {
    const key = `${mn}\u0000${kind.cn}\u0000${dataTime}`;
    if (this.kind(mn, kind.cn, false)?.has(dataTime) || this.pending.has(key)) return false;
    if (this.pending.size < 100_000) this.pending.add(key);
    return true;
  }

  /** The claimed period's data is durable (`ok`) and counts as seen, or it was not stored and may come again. */
  settle(mn: string, kind: BackfillKind, dataTime: number, ok: boolean, now: number): void {
    this.pending.delete(`${mn}\u0000${kind.cn}\u0000${dataTime}`);
    if (ok) this.record(mn, kind, dataTime, now);
  }

  /** A packet of `cn` with this DataTime is stored (kept exactly: a station with a finer interval than its profile says loses nothing). */
  record(mn: string, kind: BackfillKind, dataTime: number, now: number): void {
    if (dataTime < now - this.windowMs) return;
    const set = this.kind(mn, kind.cn, true)!;
    if (set.has(dataTime)) return;
    set.add(dataTime);
    for (const t of set) if (t < now - this.windowMs) set.delete(t);
    this.dirty = true;
  }

  /**
   * The holes: runs of periods never seen, after the station's first period seen (within the window) and up to the
   * last period that is surely complete — the one before the previous one, since the station sends the previous
   * period itself shortly after it ends.
   */
  missing(mn: string, kind: BackfillKind, now: number): HistoryRange[] {
    const exact = this.kind(mn, kind.cn, false);
    if (!exact?.size) return [];
    const i = kind.intervalMs;
    // A period is there when any packet of it is (held or on its way).
    const held = new Set([...exact].map((t) => t - (t % i)));
    const prefix = `${mn}\u0000${kind.cn}\u0000`;
    for (const k of this.pending) if (k.startsWith(prefix)) held.add(Number(k.slice(prefix.length)) - (Number(k.slice(prefix.length)) % i));
    const last = now - (now % i) - 2 * i;
    const out: HistoryRange[] = [];
    let run: HistoryRange | undefined;
    for (let t = Math.min(...held); t <= last && out.length <= this.maxRanges; t += i) {
      if (held.has(t)) {
        run = undefined;
        continue;
      }
      if (run) {
        run.end = t;
        run.periods++;
      } else out.push((run = { cn: kind.cn, begin: t, end: t, periods: 1 }));
    }
    return out.slice(0, this.maxRanges);
  }

  /** Writes the periods seen when something changed (atomically: a crash leaves the old file). */
  save(): void {
    if (!this.dirty || !this.opts.file) return;
    const doc: Record<string, Record<string, number[]>> = {};
    for (const [mn, byCn] of this.seen) doc[mn] = Object.fromEntries([...byCn].map(([cn, set]) => [cn, [...set].sort((a, b) => a - b)]));
    mkdirSync(dirname(this.opts.file), { recursive: true });
    const tmp = `${this.opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, this.opts.file);
    this.dirty = false;
  }
}
