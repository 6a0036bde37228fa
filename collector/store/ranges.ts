// Interval sets of sequence numbers: committed ranges per edge, gaps between them.
import type { SeqRange } from '../../schema/types.js';

/** Merges a sorted-or-not list of ranges into disjoint, sorted, non-adjacent ranges. */
export function normalize(ranges: SeqRange[]): SeqRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  const out: SeqRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ first: r.first, last: r.last });
  }
  return out;
}

/** Parts of [first, last] not covered by `held` (sorted, disjoint). */
export function subtract(first: number, last: number, held: SeqRange[]): SeqRange[] {
  const out: SeqRange[] = [];
  let cursor = first;
  for (const h of held) {
    if (h.last < cursor) continue;
    if (h.first > last) break;
    if (h.first > cursor) out.push({ first: cursor, last: Math.min(h.first - 1, last) });
    cursor = Math.max(cursor, h.last + 1);
    if (cursor > last) break;
  }
  if (cursor <= last) out.push({ first: cursor, last });
  return out;
}

/** Holes between committed ranges. */
export function gapsOf(ranges: SeqRange[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (let i = 1; i < ranges.length; i++) out.push({ first: ranges[i - 1]!.last + 1, last: ranges[i]!.first - 1 });
  return out;
}

/**
 * The runs of consecutive sequence numbers among a batch's items. An edge numbers all its items from one
 * sequence but buffers telemetry and events in separate chunks, so one Batch's [first_seq, last_seq] can
 * contain seqs that travel in another Batch: only the seqs actually carried are committed.
 */
export function runsOf(seqs: Iterable<number>): SeqRange[] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: SeqRange[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last.last + 1) last.last = Math.max(last.last, s);
    else out.push({ first: s, last: s });
  }
  return out;
}

/** A set of sequence numbers held as sorted, disjoint ranges: membership by binary search. */
export class SeqSet {
  private ranges: SeqRange[];
  constructor(ranges: SeqRange[]) {
    this.ranges = normalize(ranges);
  }

  has(seq: number): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid]!;
      if (seq < r.first) hi = mid - 1;
      else if (seq > r.last) lo = mid + 1;
      else return true;
    }
    return false;
  }

  add(r: SeqRange): void {
    this.ranges = normalize([...this.ranges, r]);
  }
}

/**
 * Merges `added` runs into the stored ranges `existing` (which must include every stored range overlapping or
 * adjacent to them): which stored ranges to delete and which merged ones to insert.
 */
export function mergeRanges(existing: SeqRange[], added: SeqRange[]): { remove: SeqRange[]; insert: SeqRange[] } {
  if (!added.length) return { remove: [], insert: [] };
  const merged = normalize([...existing, ...added]);
  const key = (r: SeqRange) => `${r.first}:${r.last}`;
  const before = new Set(existing.map(key));
  const after = new Set(merged.map(key));
  return { remove: existing.filter((r) => !after.has(key(r))), insert: merged.filter((r) => !before.has(key(r))) };
}
