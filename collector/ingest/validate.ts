// Structural validation of a decoded Batch before it is queued. A failure rejects the whole batch.
import { decodeBatch, SchemaError } from '../../schema/codec.js';
import type { Batch } from '../../schema/types.js';

export class BatchRejection extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

export interface ValidateLimits {
  maxPayloadBytes: number;
  maxItemsPerBatch: number;
}

const METRIC_RE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_SEQ_SPAN = 100_000_000;
const FUTURE_SLACK_MS = 86_400_000;

/** Decodes and checks a batch published on `topicEdgeId`'s batch topic; throws BatchRejection with a reason. */
export function decodeAndValidate(payload: Buffer, topicEdgeId: string, limits: ValidateLimits, now = Date.now()): Batch {
  if (payload.length > limits.maxPayloadBytes) {
    throw new BatchRejection('oversized', `payload of ${payload.length} bytes exceeds ingest.maxPayloadBytes ${limits.maxPayloadBytes}`);
  }
  if (payload.length === 0) throw new BatchRejection('empty', 'empty payload');
  let b: Batch;
  try {
    b = decodeBatch(payload);
  } catch (err) {
    throw new BatchRejection('decode', err instanceof SchemaError ? err.message : `batch: ${(err as Error).message}`);
  }
  if (b.edgeId !== topicEdgeId) throw new BatchRejection('edge_mismatch', `batch edge_id "${b.edgeId}" does not match topic edge "${topicEdgeId}"`);
  const seqOk = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!seqOk(b.firstSeq) || !seqOk(b.lastSeq) || b.lastSeq < b.firstSeq) {
    throw new BatchRejection('bad_range', `bad sequence range first_seq=${b.firstSeq} last_seq=${b.lastSeq}`);
  }
  if (b.lastSeq - b.firstSeq > MAX_SEQ_SPAN) throw new BatchRejection('bad_range', `sequence range spans more than ${MAX_SEQ_SPAN}`);
  if (!Number.isSafeInteger(b.batchId) || b.batchId < 0) throw new BatchRejection('bad_range', `bad batch_id ${b.batchId}`);
  const items = (b.readings?.length ?? 0) + (b.events?.length ?? 0) + (b.records?.length ?? 0) + (b.videoQuality?.length ?? 0) + (b.snapshots?.length ?? 0);
  if (items > limits.maxItemsPerBatch) throw new BatchRejection('too_many_items', `${items} items exceed ingest.maxItemsPerBatch ${limits.maxItemsPerBatch}`);
  const inRange = (seq: number | undefined, what: string, i: number) => {
    const s = seq ?? 0;
    if (s < b.firstSeq || s > b.lastSeq) throw new BatchRejection('item_seq', `${what}[${i}].seq ${s} outside [${b.firstSeq}, ${b.lastSeq}]`);
  };
  const tsOk = (ts: number | undefined) => typeof ts === 'number' && Number.isSafeInteger(ts) && ts > 0 && ts < now + FUTURE_SLACK_MS;
  b.readings?.forEach((r, i) => {
    inRange(r.seq, 'readings', i);
    if (!r.deviceId || r.deviceId.length > 128) throw new BatchRejection('bad_reading', `readings[${i}]: missing or too long device_id`);
    if (!METRIC_RE.test(r.metric ?? '')) throw new BatchRejection('bad_reading', `readings[${i}]: bad metric name "${r.metric ?? ''}"`);
    if (!tsOk(r.ts)) throw new BatchRejection('bad_reading', `readings[${i}]: bad ts ${r.ts}`);
    if (r.number !== undefined && r.number !== null && !Number.isFinite(r.number)) throw new BatchRejection('bad_reading', `readings[${i}]: non-finite value`);
    const hasValue = r.number != null || r.boolean != null || r.text != null;
    if (!hasValue && (r.quality ?? 0) === 0) throw new BatchRejection('bad_reading', `readings[${i}]: good-quality reading without a value`);
  });
  b.events?.forEach((e, i) => {
    inRange(e.seq, 'events', i);
    if (!e.deviceId) throw new BatchRejection('bad_event', `events[${i}]: missing device_id`);
    if (!tsOk(e.ts)) throw new BatchRejection('bad_event', `events[${i}]: bad ts ${e.ts}`);
  });
  b.records?.forEach((r, i) => {
    inRange(r.seq, 'records', i);
    if (!r.id) throw new BatchRejection('bad_record', `records[${i}]: missing id`);
  });
  b.videoQuality?.forEach((v, i) => {
    inRange(v.seq, 'video_quality', i);
    if (!v.deviceId || !tsOk(v.ts)) throw new BatchRejection('bad_video_quality', `video_quality[${i}]: missing device_id or bad ts`);
  });
  b.snapshots?.forEach((s, i) => {
    inRange(s.seq, 'snapshots', i);
    if (!s.deviceId || !tsOk(s.ts)) throw new BatchRejection('bad_snapshot', `snapshots[${i}]: missing device_id or bad ts`);
  });
  return b;
}
