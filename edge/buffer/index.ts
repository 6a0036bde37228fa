// Public surface of the edge's store-and-forward buffer.
export {
  EdgeBuffer,
  Priority,
  type BufferStats,
  type CommitInfo,
  type CommittedChunk,
  type EdgeBufferOptions,
  type ParkedChunk,
  type ParkedSummary,
  type StoredChunk,
  type SynchronousMode,
  type UnsequencedReading,
} from './edge-buffer.js';
export { decodeChunk } from './decode-chunk.js';
