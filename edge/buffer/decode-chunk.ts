// Reads a stored chunk back as a Batch (tests, tools, and diagnostics; the uplink never decodes chunks).
import { decodeBatch } from '../../schema/codec.js';
import type { Batch } from '../../schema/types.js';

export function decodeChunk(payload: Uint8Array): Batch {
  return decodeBatch(payload);
}
