// Modbus value conversions: registers (16-bit words as read off the wire) <-> typed values.
// Pure functions; byteOrder swaps the two bytes inside each register, wordOrder the register order
// of 32/64-bit values (BE = high word first, the Modbus convention; LE = "word swapped").
import type { ByteOrder, ModbusType } from '../../core/profiles.js';

export interface ValueLayout {
  type: ModbusType;
  byteOrder: ByteOrder;
  wordOrder: ByteOrder;
  bit?: number;
}

const WORDS: Record<ModbusType, number> = { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 };

/** Registers a value of this type occupies. */
export function wordsOf(type: ModbusType): number {
  return WORDS[type];
}

const swapBytes = (w: number): number => ((w & 0xff) << 8) | ((w >> 8) & 0xff);

/**
 * Puts the value's registers into one big-endian byte buffer (most significant byte first),
 * undoing the device's byte and word order.
 */
function toBigEndianBytes(words: ArrayLike<number>, offset: number, count: number, layout: ValueLayout): Buffer {
  const buf = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) {
    // With wordOrder LE the first register on the wire holds the least significant word.
    const src = layout.wordOrder === 'LE' ? offset + count - 1 - i : offset + i;
    const raw = words[src];
    if (raw === undefined) throw new RangeError(`register ${src} missing (value needs ${count} registers from ${offset})`);
    buf.writeUInt16BE(layout.byteOrder === 'LE' ? swapBytes(raw & 0xffff) : raw & 0xffff, i * 2);
  }
  return buf;
}

/** Decodes one value starting at `offset` in a block of registers. */
export function decodeRegisters(words: ArrayLike<number>, offset: number, layout: ValueLayout): number | boolean {
  const buf = toBigEndianBytes(words, offset, WORDS[layout.type], layout);
  switch (layout.type) {
    case 'bool': {
      const w = buf.readUInt16BE(0);
      return layout.bit === undefined ? w !== 0 : ((w >> layout.bit) & 1) === 1;
    }
    case 'int16':
      return buf.readInt16BE(0);
    case 'uint16':
      return buf.readUInt16BE(0);
    case 'int32':
      return buf.readInt32BE(0);
    case 'uint32':
      return buf.readUInt32BE(0);
    case 'float32':
      return buf.readFloatBE(0);
    case 'float64':
      return buf.readDoubleBE(0);
  }
}

/** The inverse of decodeRegisters (device simulators, test fixtures, data-driven cases). */
export function encodeRegisters(value: number | boolean, layout: ValueLayout): number[] {
  const count = WORDS[layout.type];
  const buf = Buffer.alloc(count * 2);
  const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  switch (layout.type) {
    case 'bool':
      buf.writeUInt16BE(layout.bit === undefined ? n : n ? 1 << layout.bit : 0, 0);
      break;
    case 'int16':
      buf.writeInt16BE(n, 0);
      break;
    case 'uint16':
      buf.writeUInt16BE(n, 0);
      break;
    case 'int32':
      buf.writeInt32BE(n, 0);
      break;
    case 'uint32':
      buf.writeUInt32BE(n, 0);
      break;
    case 'float32':
      buf.writeFloatBE(n, 0);
      break;
    case 'float64':
      buf.writeDoubleBE(n, 0);
      break;
  }
  const bigEndianWords: number[] = [];
  for (let i = 0; i < count; i++) {
    const w = buf.readUInt16BE(i * 2);
    bigEndianWords.push(layout.byteOrder === 'LE' ? swapBytes(w) : w);
  }
  return layout.wordOrder === 'LE' ? bigEndianWords.reverse() : bigEndianWords;
}

/** A coil / discrete input from a block of bits. */
export function decodeBit(bits: ArrayLike<boolean>, offset: number): boolean {
  const b = bits[offset];
  if (b === undefined) throw new RangeError(`bit ${offset} missing`);
  return b;
}

/** Minimal view of a planned block for decoding (see blocks.ts). */
export interface DecodableBlock {
  start: number;
  points: readonly (ValueLayout & { name: string; address: number; area: string })[];
}

export type DecodedPoint = { name: string; value: number | boolean } | { name: string; error: string };

/** Decodes every point of a block from the registers or bits read for it. */
export function decodeBlock(block: DecodableBlock, data: { words?: ArrayLike<number>; bits?: ArrayLike<boolean> }): DecodedPoint[] {
  return block.points.map((p) => {
    const offset = p.address - block.start;
    try {
      if (p.area === 'coil' || p.area === 'discrete') {
        if (!data.bits) return { name: p.name, error: 'no bits in response' };
        return { name: p.name, value: decodeBit(data.bits, offset) };
      }
      if (!data.words) return { name: p.name, error: 'no registers in response' };
      const value = decodeRegisters(data.words, offset, p);
      // A float NaN/Infinity is how many instruments flag a sensor fault; it is no measurement.
      if (typeof value === 'number' && !Number.isFinite(value)) return { name: p.name, error: `device returned ${value}` };
      return { name: p.name, value };
    } catch (err) {
      return { name: p.name, error: `short response: ${(err as Error).message}` };
    }
  });
}
