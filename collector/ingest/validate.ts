// Batch-level checks before a batch is queued. Only what makes the whole batch unusable rejects it (size,
// protobuf, the edge id, its seq range); problems of single items are the ingest plan's (they are quarantined,
// never blocking the good items beside them — collector/store/plan.ts).
import { decodeBatch, SchemaError } from '../../schema/codec.js';
import type { Batch } from '../../schema/types.js';

export class BatchRejection extends Error {
  constructor(
    readonly reason: string,
    message: string,
    /** The batch's own id when it could be read (the edge needs it to know which chunk was refused). */
    readonly batchId = 0,
  ) {
    super(message);
  }
}

export interface ValidateLimits {
  maxPayloadBytes: number;
  maxItemsPerBatch: number;
}

const MAX_SEQ_SPAN = 100_000_000;

/**
 * Reads field 2 (batch_id, varint) from the top level of a protobuf Batch without decoding the rest, so a batch
 * that fails to decode can still be refused by its own id. The edge appends the header after the items, and
 * protobuf's last-one-wins means the last occurrence counts. 0 when not found.
 */
export function peekBatchId(buf: Uint8Array): number {
  let i = 0;
  let found = 0;
  const varint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 8 && i < buf.length; n++) {
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    return undefined;
  };
  while (i < buf.length) {
    const key = varint();
    if (key === undefined) return found;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return found;
      if (field === 2) found = v;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || i + len > buf.length) return found;
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return found;
  }
  return found;
}

/** Decodes and checks a batch published on `topicEdgeId`'s batch topic; throws BatchRejection with a reason. */
export function decodeAndValidate(payload: Buffer, topicEdgeId: string, limits: ValidateLimits): Batch {
  if (payload.length > limits.maxPayloadBytes) {
    throw new BatchRejection('oversized', `payload of ${payload.length} bytes exceeds ingest.maxPayloadBytes ${limits.maxPayloadBytes}`, peekBatchId(payload));
  }
  if (payload.length === 0) throw new BatchRejection('empty', 'empty payload');
  let b: Batch;
  try {
    b = decodeBatch(payload);
  } catch (err) {
    throw new BatchRejection('decode', err instanceof SchemaError ? err.message : `batch: ${(err as Error).message}`, peekBatchId(payload));
  }
  const id = Number.isSafeInteger(b.batchId) && b.batchId >= 0 ? b.batchId : 0;
  if (b.edgeId !== topicEdgeId) throw new BatchRejection('edge_mismatch', `batch edge_id "${b.edgeId}" does not match topic edge "${topicEdgeId}"`, id);
  const seqOk = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!seqOk(b.firstSeq) || !seqOk(b.lastSeq) || b.lastSeq < b.firstSeq) {
    throw new BatchRejection('bad_range', `bad sequence range first_seq=${b.firstSeq} last_seq=${b.lastSeq}`, id);
  }
  if (b.lastSeq - b.firstSeq > MAX_SEQ_SPAN) throw new BatchRejection('bad_range', `sequence range spans more than ${MAX_SEQ_SPAN}`, id);
  if (!Number.isSafeInteger(b.batchId) || b.batchId < 0) throw new BatchRejection('bad_range', `bad batch_id ${b.batchId}`);
  const items = (b.readings?.length ?? 0) + (b.events?.length ?? 0) + (b.records?.length ?? 0) + (b.videoQuality?.length ?? 0) + (b.snapshots?.length ?? 0);
  if (items > limits.maxItemsPerBatch) throw new BatchRejection('too_many_items', `${items} items exceed ingest.maxItemsPerBatch ${limits.maxItemsPerBatch}`, id);
  return b;
}
