// InfluxDB line protocol for stored readings (queued in the outbox by the ingest, sent by the exporter).
//
// One measurement per metric; tags device_id, edge_id, site, unit, and for period aggregates (HJ 212 minute /
// hour / day data) `aggregate` (avg, min, max, total) and `period_s`, so that the average, minimum and maximum
// of one period are distinct series; fields `value` and `quality` (0 good, 1 uncertain, 2 bad).
//
// Timestamps are in nanoseconds: the reading's millisecond time plus its edge sequence number modulo 10^6 as
// sub-millisecond digits. InfluxDB overwrites points with equal measurement, tags and timestamp, so readings that
// share a millisecond would otherwise replace each other; the offset keeps every accepted reading (readings of
// one series within one ms always differ in seq mod 10^6, as an edge's seqs are consecutive), never moves a point
// by a whole millisecond, and is deterministic, so a line sent twice (exporter failover) overwrites itself.
import type { PlannedReading } from './plan.js';

const escMeasurement = (s: string) => s.replace(/[, \\]/g, (c) => `\\${c}`);
const escTag = (s: string) => s.replace(/[,= \\]/g, (c) => `\\${c}`);
const escString = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const AGGREGATE_TAG = ['', 'avg', 'min', 'max', 'total'];

/** `ts` ms + seq → ns as decimal text (string arithmetic: ns timestamps exceed 2^53). */
export function nanoTimestamp(tsMs: number, seq: number): string {
  return `${tsMs}${String(seq % 1_000_000).padStart(6, '0')}`;
}

export function lineFor(r: Pick<PlannedReading, 'deviceId' | 'metric' | 'unit' | 'aggregate' | 'periodS' | 'ts' | 'seq' | 'value' | 'isBool' | 'text' | 'quality' | 'edgeId' | 'site'>): string {
  let tags = `,device_id=${escTag(r.deviceId)},edge_id=${escTag(r.edgeId)}`;
  if (r.site) tags += `,site=${escTag(r.site)}`;
  if (r.unit) tags += `,unit=${escTag(r.unit)}`;
  if (r.aggregate) tags += `,aggregate=${AGGREGATE_TAG[r.aggregate] ?? r.aggregate},period_s=${r.periodS}`;
  let value: string | undefined;
  if (r.value !== null) value = r.isBool ? (r.value ? 'true' : 'false') : String(r.value);
  else if (r.text !== null) value = escString(r.text);
  const fields = `${value !== undefined ? `value=${value},` : ''}quality=${r.quality}i`;
  return `${escMeasurement(r.metric)}${tags} ${fields} ${nanoTimestamp(r.ts, r.seq)}`;
}
