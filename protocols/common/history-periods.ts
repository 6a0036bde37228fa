// Backfill bookkeeping for stations that keep their data (补传): which periods of each station's data the edge
// holds, so it can ask the station for the ones that never arrived — when the station connects again, and when a
// later period shows a hole behind it. HJ 212 keys the periods by data CN (2051 minute, 2061 hourly data) and asks
// with history requests; SL 651 keys them by report and element and asks with time-range queries (38H).
// Remembered per station in a small JSON file in the adapter's data directory, so an edge that was down itself
// (power cut) asks for what its stations kept meanwhile.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PeriodKind {
  /** What the periods are of: the data CN for HJ 212 ("2061"), "report" or an element for SL 651. */
  key: string;
  /** One period per interval (minute data: the station's minute interval; hourly data: 1 h). */
  intervalMs: number;
}

export interface MissingRange {
  key: string;
  /** Start of the first and last missing period (both included). */
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
      for (const [station, kinds] of Object.entries(doc)) {
        for (const [key, list] of Object.entries(kinds)) {
          const set = this.kind(station, key, true)!;
          for (const t of list) if (Number.isSafeInteger(t)) set.add(t);
        }
      }
    } catch {
      // no file yet, or unreadable: start empty (nothing is asked for until periods are seen again)
    }
  }

  private kind(station: string, key: string, create: boolean): Set<number> | undefined {
    let byKey = this.seen.get(station);
    if (!byKey && create) this.seen.set(station, (byKey = new Map()));
    let set = byKey?.get(key);
    if (!set && create) byKey!.set(key, (set = new Set()));
    return set;
  }

  /**
   * A period arrived (live or as history): true when it is new — neither stored already nor on its way — so its
   * data is to be kept; a copy of a period already held (a station resending on its own after answering a
   * history request) is not. Settle it once its data is durable (or is not).
   */
  claim(station: string, kind: PeriodKind, at: number): boolean {
    if (this.has(station, kind, at)) return false;
    if (this.pending.size < 100_000) this.pending.add(`${station}\u0000${kind.key}\u0000${at}`);
    return true;
  }

  /** Whether data of exactly this time is held or on its way. */
  has(station: string, kind: PeriodKind, at: number): boolean {
    return !!this.kind(station, kind.key, false)?.has(at) || this.pending.has(`${station}\u0000${kind.key}\u0000${at}`);
  }

  /** The claimed period's data is durable (`ok`) and counts as seen, or it was not stored and may come again. */
  settle(station: string, kind: PeriodKind, at: number, ok: boolean, now: number): void {
    this.pending.delete(`${station}\u0000${kind.key}\u0000${at}`);
    if (ok) this.record(station, kind, at, now);
  }

  /** Data of this time is stored (kept exactly: a station with a finer interval than its profile says loses nothing). */
  record(station: string, kind: PeriodKind, at: number, now: number): void {
    if (at < now - this.windowMs) return;
    const set = this.kind(station, kind.key, true)!;
    if (set.has(at)) return;
    set.add(at);
    for (const t of set) if (t < now - this.windowMs) set.delete(t);
    this.dirty = true;
  }

  /** Whether the period holding `at` is there: any data of it held or on its way. */
  holds(station: string, kind: PeriodKind, at: number): boolean {
    const i = kind.intervalMs;
    return this.held(station, kind.key, i).has(at - (at % i));
  }

  /** Starts of the periods (of `intervalMs`) with data of `key` held or on its way. */
  private held(station: string, key: string, i: number): Set<number> {
    const out = new Set([...(this.kind(station, key, false) ?? [])].map((t) => t - (t % i)));
    const prefix = `${station}\u0000${key}\u0000`;
    for (const k of this.pending) {
      if (!k.startsWith(prefix)) continue;
      const t = Number(k.slice(prefix.length));
      out.add(t - (t % i));
    }
    return out;
  }

  /**
   * Start of the last period that is surely complete: the one before the previous one, since the station sends the
   * previous period itself shortly after it ends. Later periods are not holes yet.
   */
  lastComplete(kind: PeriodKind, now: number): number {
    return now - (now % kind.intervalMs) - 2 * kind.intervalMs;
  }

  /**
   * The holes: runs of periods never seen, after the station's first period seen (within the window) and up to the
   * last period that is surely complete. A period also counts as seen when data of one of `alsoHeld` (other keys,
   * cut into the same periods) is there: SL 651 answers one element at a time.
   */
  missing(station: string, kind: PeriodKind, now: number, alsoHeld: readonly string[] = []): MissingRange[] {
    const i = kind.intervalMs;
    const held = this.held(station, kind.key, i);
    for (const key of alsoHeld) for (const t of this.held(station, key, i)) held.add(t);
    if (!held.size) return [];
    const last = this.lastComplete(kind, now);
    const out: MissingRange[] = [];
    let run: MissingRange | undefined;
    const oldest = now - this.windowMs; // a file from long ago holds periods the station no longer keeps
    let first = Math.min(...held);
    if (first < oldest) first = oldest - (oldest % i) + i;
    for (let t = first; t <= last && out.length <= this.maxRanges; t += i) {
      if (held.has(t)) {
        run = undefined;
        continue;
      }
      if (run) {
        run.end = t;
        run.periods++;
      } else out.push((run = { key: kind.key, begin: t, end: t, periods: 1 }));
    }
    return out.slice(0, this.maxRanges);
  }

  /** Writes the periods seen when something changed (atomically: a crash leaves the old file). */
  save(): void {
    if (!this.dirty || !this.opts.file) return;
    const doc: Record<string, Record<string, number[]>> = {};
    for (const [station, byKey] of this.seen) doc[station] = Object.fromEntries([...byKey].map(([key, set]) => [key, [...set].sort((a, b) => a - b)]));
    mkdirSync(dirname(this.opts.file), { recursive: true });
    const tmp = `${this.opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, this.opts.file);
    this.dirty = false;
  }

  /**
   * Saves every 5 s and when the returned stop function is called (the adapter's stop): holes survive an edge
   * restart. A failing save is reported, never thrown.
   */
  autosave(onError: (err: Error) => void): () => void {
    const trySave = () => {
      try {
        this.save();
      } catch (err) {
        onError(err as Error);
      }
    };
    const timer = setInterval(trySave, 5000);
    timer.unref();
    return () => {
      clearInterval(timer);
      trySave();
    };
  }
}
