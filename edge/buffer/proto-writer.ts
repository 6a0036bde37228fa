// A growable protobuf byte writer with a hand-rolled encoder for Batch.readings (field 5).
// Why hand-rolled: protobufjs reflection encodes ~1M small messages/s at best, which alone would eat the
// whole budget of the ≥1M readings/s target. Readings repeat the same device/metric/unit strings, so their
// UTF-8 bytes are cached and each reading costs a few byte copies. The output is plain protobuf: protobufjs
// (decodeBatch) reads it like anything it encoded itself.
import { messageType } from '../../schema/codec.js';
import type { Reading } from '../../schema/types.js';

export type UnsequencedReading = Omit<Reading, 'seq'>;

const ReadingType = messageType('Reading');

const TWO_POW_28 = 2 ** 28;
const F64 = new Float64Array(1);
// Protobuf doubles are little-endian; every platform Node runs on here is little-endian too.
const F64_BYTES = new Uint8Array(F64.buffer);

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Non-negative integers up to 2^53 (callers check). */
  varint(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (v >= TWO_POW_28) {
      // Low 28 bits as four 7-bit groups with bit ops, then the rest (ms timestamps take this path).
      let lo = v % TWO_POW_28;
      let hi = (v - lo) / TWO_POW_28;
      buf[pos++] = (lo & 127) | 128;
      lo >>>= 7;
      buf[pos++] = (lo & 127) | 128;
      lo >>>= 7;
      buf[pos++] = (lo & 127) | 128;
      lo >>>= 7;
      buf[pos++] = lo | 128;
      while (hi > 127) {
        buf[pos++] = (hi & 127) | 128;
        hi >>>= 7;
      }
      buf[pos++] = hi;
    } else {
      while (v > 127) {
        buf[pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      buf[pos++] = v;
    }
    this.pos = pos;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    if (n < 48) {
      // A byte loop beats TypedArray.set's call overhead for the short strings readings are made of.
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos++] = b[i]!;
      this.pos = pos;
    } else {
      this.buf.set(b, this.pos);
      this.pos += n;
    }
  }

  double(v: number): void {
    F64[0] = v;
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < 8; i++) buf[pos++] = F64_BYTES[i]!;
    this.pos = pos;
  }

  /** Appends a length-delimited field holding already-encoded bytes. */
  lengthDelimited(tag: number, body: Uint8Array): void {
    this.ensure(11 + body.length);
    this.buf[this.pos++] = tag;
    this.varint(body.length);
    this.bytes(body);
  }

  /** A copy of what was written (the writer's buffer is reused). */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

/** UTF-8 bytes of strings seen before; bounded so random strings cannot grow it without limit. */
class Utf8Cache {
  private map = new Map<string, Buffer>();
  private lastKey = '';
  private lastBytes: Buffer = Buffer.alloc(0);
  get(s: string): Buffer {
    if (s === this.lastKey) return this.lastBytes;
    let b = this.map.get(s);
    if (b === undefined) {
      if (this.map.size >= 50_000) this.map.clear();
      b = Buffer.from(s, 'utf8');
      this.map.set(s, b);
    }
    this.lastKey = s;
    this.lastBytes = b;
    return b;
  }
}

const BATCH_READINGS_TAG = (5 << 3) | 2;

const isVarintSafe = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** Encodes readings as repeated Batch.readings fields into a ProtoWriter. */
export class ReadingEncoder {
  // One cache per field, so the last-seen shortcut hits for runs of the same metric/unit.
  private devices = new Utf8Cache();
  private metrics = new Utf8Cache();
  private units = new Utf8Cache();
  private reasons = new Utf8Cache();

  /** Appends one reading (with its seq) as a Batch field-5 entry. */
  write(w: ProtoWriter, r: UnsequencedReading, seq: number): void {
    const ts = r.ts;
    const quality = r.quality ?? 0;
    const aggregate = r.aggregate ?? 0;
    const periodS = r.periodS ?? 0;
    if (!isVarintSafe(ts) || !isVarintSafe(quality) || !isVarintSafe(aggregate) || !isVarintSafe(periodS)) {
      // Unusual values (negative timestamps, fractional enums): let protobufjs handle the general case.
      w.lengthDelimited(BATCH_READINGS_TAG, ReadingType.encode(ReadingType.fromObject({ ...r, seq })).finish());
      return;
    }
    const dev = r.deviceId ? this.devices.get(r.deviceId) : undefined;
    const metric = r.metric ? this.metrics.get(r.metric) : undefined;
    const unit = r.unit ? this.units.get(r.unit) : undefined;
    const reason = r.qualityReason ? this.reasons.get(r.qualityReason) : undefined;
    let text: Buffer | undefined;
    let size = 0;
    if (dev) size += 1 + varintSize(dev.length) + dev.length;
    if (metric) size += 1 + varintSize(metric.length) + metric.length;
    // oneof value: exactly one member is written, even when it is 0/false/"" (presence matters).
    let valueKind = 0;
    if (typeof r.number === 'number') {
      valueKind = 1;
      size += 9;
    } else if (typeof r.boolean === 'boolean') {
      valueKind = 2;
      size += 2;
    } else if (typeof r.text === 'string') {
      valueKind = 3;
      text = Buffer.from(r.text, 'utf8');
      size += 1 + varintSize(text.length) + text.length;
    }
    if (unit) size += 1 + varintSize(unit.length) + unit.length;
    if (ts !== 0) size += 1 + varintSize(ts);
    if (quality !== 0) size += 1 + varintSize(quality);
    if (reason) size += 1 + varintSize(reason.length) + reason.length;
    if (seq !== 0) size += 1 + varintSize(seq);
    if (aggregate !== 0) size += 1 + varintSize(aggregate);
    if (periodS !== 0) size += 1 + varintSize(periodS);

    w.ensure(size + 11);
    const buf = w.buf;
    buf[w.pos++] = BATCH_READINGS_TAG;
    w.varint(size);
    if (dev) {
      buf[w.pos++] = 0x0a;
      w.varint(dev.length);
      w.bytes(dev);
    }
    if (metric) {
      buf[w.pos++] = 0x12;
      w.varint(metric.length);
      w.bytes(metric);
    }
    if (valueKind === 1) {
      buf[w.pos++] = 0x19;
      w.double(r.number as number);
    } else if (valueKind === 2) {
      buf[w.pos++] = 0x20;
      buf[w.pos++] = r.boolean ? 1 : 0;
    } else if (valueKind === 3 && text) {
      buf[w.pos++] = 0x2a;
      w.varint(text.length);
      w.bytes(text);
    }
    if (unit) {
      buf[w.pos++] = 0x32;
      w.varint(unit.length);
      w.bytes(unit);
    }
    if (ts !== 0) {
      buf[w.pos++] = 0x38;
      w.varint(ts);
    }
    if (quality !== 0) {
      buf[w.pos++] = 0x40;
      w.varint(quality);
    }
    if (reason) {
      buf[w.pos++] = 0x4a;
      w.varint(reason.length);
      w.bytes(reason);
    }
    if (seq !== 0) {
      buf[w.pos++] = 0x50;
      w.varint(seq);
    }
    if (aggregate !== 0) {
      buf[w.pos++] = 0x58;
      w.varint(aggregate);
    }
    if (periodS !== 0) {
      buf[w.pos++] = 0x60;
      w.varint(periodS);
    }
  }
}

/** Batch field numbers of the other item kinds, with the message type each holds. */
export const ITEM_FIELDS = {
  event: { tag: (6 << 3) | 2, type: messageType('Event') },
  record: { tag: (7 << 3) | 2, type: messageType('DeviceRecord') },
  videoQuality: { tag: (8 << 3) | 2, type: messageType('VideoQuality') },
  snapshot: { tag: (9 << 3) | 2, type: messageType('Snapshot') },
} as const;

export type OtherItemKind = keyof typeof ITEM_FIELDS;

/** Appends a non-reading item (low volume: protobufjs is fine here). */
export function writeOtherItem(w: ProtoWriter, kind: OtherItemKind, item: object, seq: number): void {
  const { tag, type } = ITEM_FIELDS[kind];
  w.lengthDelimited(tag, type.encode(type.fromObject({ ...item, seq })).finish());
}
