// Backfill after an outage (补传) for SL 651 stations: the edge remembers the observation times of the reports it
// holds per station (../common/history-periods.ts, on disk) and asks a station for the report intervals it never
// delivered with the standard's time-range query (中心站查询遥测站时段数据, 38H): start and end hour, the time step
// (the station's report interval) and an element — one query per element in HEX (the standard allows one), one for
// all elements in ASCII (several allowed when they share the step). It asks when the station is first heard on a
// connection, and when a report arrives behind a hole. The station answers with equal-interval data (38H, laid out
// like a 31H report): the values of the steps the edge does not hold yet are stored with their own times; values of
// a period it holds (a live report, or an element already backfilled) are not stored twice.
import type { DeviceProfile } from '../../core/profiles.js';
import type { Durability } from '../adapter.js';
import type { HistoryTracker, MissingRange, PeriodKind } from '../common/history-periods.js';
import { elementById, hexId } from './elements.js';
import type { Sl651Frame } from './framer.js';
import { FN, type ElementValue, type Sl651Message } from './parse.js';
import { isTimeStep } from './time-step.js';

const HOUR = 3_600_000;
/** Values asked for in one query at most (a day of 5-minute reports): answers stay a few kB. */
const MAX_POINTS_PER_QUERY = 288;
/** Queries sent per connection at most. */
const MAX_QUERIES_PER_CONNECTION = 1000;

/** What the edge asks a station for again: its report times, at its report interval, element by element. */
export interface Sl651Backfill {
  /** Report observation times, one period per report interval. */
  report: PeriodKind;
  /** Element identifiers asked for (those the profile maps that have a numeric data format). */
  elements: number[];
}

/** The backfill of a profile, or why it has none. */
export function backfillPlan(profile: DeviceProfile): { plan?: Sl651Backfill; reason?: string } {
  const intervalS = profile.sl651?.reportIntervalS;
  if (!intervalS) return { reason: 'the profile sets no sl651.reportIntervalS' };
  const stepMs = intervalS * 1000;
  if (!isTimeStep(stepMs)) return { reason: `report interval ${intervalS} s is not whole minutes 1-59, hours 1-23 or days 1-31 (the time-step code)` };
  const ids = new Set<number>();
  for (const p of profile.points) {
    const id = p.sl651 ? parseInt(p.sl651.element, 16) : NaN;
    const def = elementById(id);
    if (def && !def.special) ids.add(id);
  }
  if (!ids.size) return { reason: 'the profile maps no element with a numeric data format' };
  return { plan: { report: { key: 'report', intervalMs: stepMs }, elements: [...ids].sort((a, b) => a - b) } };
}

/** The tracker key of an element's backfilled values. */
export const elementKey = (id: number | string): string => `element ${typeof id === 'number' ? hexId(id) : id}`;

/**
 * The hours to ask for: a query names whole hours (YYMMDDHH, both included), so each hole widens to the hours around
 * it; overlapping windows merge, and long ones are cut into windows of at most MAX_POINTS_PER_QUERY steps that share
 * their boundary hour (a boundary value comes twice and is stored once).
 */
export function queryWindows(holes: MissingRange[], stepMs: number): { start: number; end: number }[] {
  const merged: { start: number; end: number }[] = [];
  const sorted = holes.map((r) => ({ start: r.begin - (r.begin % HOUR), end: Math.ceil(r.end / HOUR) * HOUR })).sort((a, b) => a.start - b.start);
  for (const w of sorted) {
    const last = merged[merged.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else merged.push({ ...w });
  }
  const chunk = Math.max(1, Math.floor((MAX_POINTS_PER_QUERY * stepMs) / HOUR)) * HOUR;
  const out: { start: number; end: number }[] = [];
  for (const w of merged) {
    for (let s = w.start; ; s += chunk) {
      out.push({ start: s, end: Math.min(s + chunk, w.end) });
      if (s + chunk >= w.end) break;
    }
  }
  return out;
}

export interface BackfillStation {
  id: string;
  password?: string;
  elements: Map<string, string[]>;
  backfill?: Sl651Backfill;
}

/** A time-range query to send (in the mode of the frame that prompted it): what it asks for. */
export interface QueryOrder {
  start: number;
  end: number;
  stepMs: number;
  elements: number[];
}

/**
 * One connection's backfill: filters time-range answers down to what is new, records report times once durable,
 * and orders queries — for every hole when a station is first heard on the connection, for the holes behind a
 * report when it arrives; each window and element at most once per connection.
 */
export class BackfillSession {
  private readonly requested = new Set<string>();
  private readonly greeted = new Set<string>();

  constructor(
    private readonly history: HistoryTracker,
    private readonly ask: (f: Sl651Frame, station: BackfillStation, queries: QueryOrder[]) => void,
  ) {}

  /**
   * Before the message's samples are stored: a time-range answer keeps only the values of periods not held yet
   * (claimed until durable); a report's times are claimed as held. Returns the elements to store and what to do
   * once they are durable (or not).
   */
  admit(f: Sl651Frame, station: BackfillStation, msg: Sl651Message): { elements: ElementValue[]; stored: (durable: Durability | undefined) => void } {
    const plan = station.backfill;
    const address = f.station;
    const firstFrame = !this.greeted.has(address);
    this.greeted.add(address);
    if (!plan) return { elements: msg.elements, stored: () => undefined };
    const elementKind = (id: string): PeriodKind => ({ key: elementKey(id), intervalMs: plan.report.intervalMs });
    const mapped = msg.elements.filter((e) => station.elements.has(e.id) && e.ts !== undefined);
    let elements: ElementValue[];
    let claims: { kind: PeriodKind; at: number; mine: boolean }[];
    if (f.fn === FN.TIME_RANGE) {
      // Only periods that are surely over (a later one may still come live) and not held yet.
      const last = this.history.lastComplete(plan.report, Date.now());
      const fresh = (e: ElementValue) => e.ts! < last + plan.report.intervalMs && !this.history.holds(address, plan.report, e.ts!);
      elements = mapped.filter((e) => fresh(e) && this.history.claim(address, elementKind(e.id), e.ts!));
      claims = elements.map((e) => ({ kind: elementKind(e.id), at: e.ts!, mine: true }));
    } else {
      // Live data is kept, except a value a time-range answer brought already (a station re-sending its backlog);
      // its times are marked as on their way, so an answer crossing it is not stored too.
      elements = msg.elements.filter((e) => e.ts === undefined || !station.elements.has(e.id) || !this.history.has(address, elementKind(e.id), e.ts));
      claims = [...new Set(mapped.map((e) => e.ts!))].map((at) => ({ kind: plan.report, at, mine: this.history.claim(address, plan.report, at) }));
    }
    const stored = (durable: Durability | undefined) => {
      // A station first heard without a report (a keep-alive): everything missing is asked for now; after a report,
      // what is behind it, once it is durable (a station may be about to send the rest of its backlog itself).
      if (firstFrame && (f.fn === FN.TIME_RANGE || !claims.length)) this.askForHoles(f, station, Infinity);
      if (!claims.length) return;
      void Promise.resolve(durable ?? true).then((ok) => {
        const now = Date.now();
        for (const c of claims) {
          if (c.mine) this.history.settle(address, c.kind, c.at, ok, now);
          else if (ok) this.history.record(address, c.kind, c.at, now);
        }
        if (ok && f.fn !== FN.TIME_RANGE) this.askForHoles(f, station, Math.min(...claims.map((c) => c.at)));
      });
    };
    return { elements, stored };
  }

  /** Orders queries for the holes that end before `before` (a report just arrived: only what is behind it). */
  private askForHoles(f: Sl651Frame, station: BackfillStation, before: number): void {
    const plan = station.backfill!;
    const stepMs = plan.report.intervalMs;
    const holes = this.history.missing(f.station, plan.report, Date.now(), plan.elements.map(elementKey)).filter((r) => r.end < before);
    // HEX names one element per query (SL 651-2014 6.6.4.4 b, table 44 note 2); ASCII may name several with one step.
    const groups = f.mode === 'hex' ? plan.elements.map((id) => [id]) : [plan.elements];
    const queries: QueryOrder[] = [];
    for (const w of queryWindows(holes, stepMs)) {
      for (const elements of groups) {
        const key = `${f.station}:${w.start}:${w.end}:${elements.join(',')}`;
        if (this.requested.has(key) || this.requested.size >= MAX_QUERIES_PER_CONNECTION) continue;
        this.requested.add(key);
        queries.push({ ...w, stepMs, elements });
      }
    }
    if (queries.length) this.ask(f, station, queries);
  }
}
