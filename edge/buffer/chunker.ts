// Turns the items pending in memory into chunk rows: protobuf Batch bodies capped by items and bytes,
// telemetry and critical items in separate chunks so the byte limit can drop one kind and keep the other.
import { Priority } from './sqlite-schema.js';
import { ProtoWriter, ReadingEncoder, writeOtherItem, type OtherItemKind, type UnsequencedReading } from './proto-writer.js';

export interface PendingOther {
  kind: OtherItemKind;
  item: object;
  seq: number;
}

export interface EncodedChunk {
  priority: Priority;
  firstSeq: number;
  lastSeq: number;
  items: number;
  readings: number;
  payload: Buffer;
}

export interface ChunkLimits {
  maxItems: number;
  maxBytes: number;
}

export class Chunker {
  private readonly writer = new ProtoWriter(1 << 20);
  private readonly readingEncoder = new ReadingEncoder();

  constructor(private readonly limits: ChunkLimits) {}

  /** Pending readings (parallel to their seqs), split into telemetry chunks. */
  readingChunks(readings: UnsequencedReading[], seqs: number[], out: EncodedChunk[]): void {
    const w = this.writer;
    const { maxItems, maxBytes } = this.limits;
    let start = 0;
    while (start < readings.length) {
      w.pos = 0;
      let i = start;
      while (i < readings.length && i - start < maxItems && w.pos < maxBytes) {
        const r = readings[i]!;
        this.readingEncoder.write(w, r, seqs[i]!);
        i++;
      }
      out.push({
        priority: Priority.TELEMETRY,
        firstSeq: seqs[start]!,
        lastSeq: seqs[i - 1]!,
        items: i - start,
        readings: i - start,
        payload: w.take(),
      });
      start = i;
    }
  }

  /** Non-reading items (already in seq order) into chunks of the given priority. */
  otherChunks(items: PendingOther[], priority: Priority, out: EncodedChunk[]): void {
    const w = this.writer;
    const { maxItems, maxBytes } = this.limits;
    let start = 0;
    while (start < items.length) {
      w.pos = 0;
      let i = start;
      while (i < items.length && i - start < maxItems && w.pos < maxBytes) {
        const it = items[i]!;
        writeOtherItem(w, it.kind, it.item, it.seq);
        i++;
      }
      out.push({
        priority,
        firstSeq: items[start]!.seq,
        lastSeq: items[i - 1]!.seq,
        items: i - start,
        readings: 0,
        payload: w.take(),
      });
      start = i;
    }
  }
}
