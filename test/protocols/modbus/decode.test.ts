import { describe, expect, it } from 'vitest';
import type { ByteOrder, ModbusType } from '../../../core/profiles.js';
import { decodeBit, decodeBlock, decodeRegisters, encodeRegisters, wordsOf } from '../../../protocols/modbus/decode.js';

const L = (type: ModbusType, byteOrder: ByteOrder = 'BE', wordOrder: ByteOrder = 'BE', bit?: number) => ({
  type,
  byteOrder,
  wordOrder,
  ...(bit !== undefined ? { bit } : {}),
});

describe('decodeRegisters', () => {
  // Register words as they come off the wire, written out by hand (not produced by encodeRegisters).
  const cases: [string, number[], ReturnType<typeof L>, number | boolean][] = [
    ['uint16 BE', [0x04d2], L('uint16'), 1234],
    ['uint16 byte-swapped', [0xd204], L('uint16', 'LE'), 1234],
    ['int16 negative', [0xffcc], L('int16'), -52],
    ['int16 byte-swapped', [0xccff], L('int16', 'LE'), -52],
    ['int32 ABCD', [0xfffe, 0x1dc0], L('int32'), -123456],
    ['int32 CDAB (word swap)', [0x1dc0, 0xfffe], L('int32', 'BE', 'LE'), -123456],
    ['int32 BADC (byte swap)', [0xfeff, 0xc01d], L('int32', 'LE', 'BE'), -123456],
    ['int32 DCBA', [0xc01d, 0xfeff], L('int32', 'LE', 'LE'), -123456],
    ['uint32 ABCD', [0x0001, 0x1170], L('uint32'), 70000],
    ['uint32 high bit', [0xffff, 0xfffe], L('uint32'), 4294967294],
    ['uint32 DCBA', [0x7856, 0x3412], L('uint32', 'LE', 'LE'), 0x12345678],
    ['float32 ABCD', [0x4049, 0x0fd0], L('float32'), 3.1415901184082031],
    ['float32 CDAB', [0x0fd0, 0x4049], L('float32', 'BE', 'LE'), 3.1415901184082031],
    ['float32 BADC', [0x4940, 0xd00f], L('float32', 'LE', 'BE'), 3.1415901184082031],
    ['float32 DCBA', [0xd00f, 0x4940], L('float32', 'LE', 'LE'), 3.1415901184082031],
    ['float32 negative', [0xc148, 0x0000], L('float32'), -12.5],
    // 1013.25 = 0x408FAA0000000000
    ['float64 ABCDEFGH', [0x408f, 0xaa00, 0x0000, 0x0000], L('float64'), 1013.25],
    ['float64 words reversed', [0x0000, 0x0000, 0xaa00, 0x408f], L('float64', 'BE', 'LE'), 1013.25],
    ['float64 bytes swapped', [0x8f40, 0x00aa, 0x0000, 0x0000], L('float64', 'LE', 'BE'), 1013.25],
    ['float64 fully reversed', [0x0000, 0x0000, 0x00aa, 0x8f40], L('float64', 'LE', 'LE'), 1013.25],
    ['bool whole register non-zero', [0x0100], L('bool'), true],
    ['bool whole register zero', [0x0000], L('bool'), false],
    ['bool bit 3 set', [0x0008], L('bool', 'BE', 'BE', 3), true],
    ['bool bit 0 clear', [0x0008], L('bool', 'BE', 'BE', 0), false],
    ['bool bit 15', [0x8000], L('bool', 'BE', 'BE', 15), true],
    ['bool bit 8 of a byte-swapped register', [0x0001], L('bool', 'LE', 'BE', 8), true],
  ];
  it.each(cases)('%s', (_name, words, layout, expected) => {
    expect(decodeRegisters(words, 0, layout)).toBe(expected);
  });

  it('reads at an offset inside a block', () => {
    expect(decodeRegisters([0xdead, 0x0001, 0x1170, 0xbeef], 1, L('uint32'))).toBe(70000);
  });

  it('throws a RangeError when the block is too short for the value', () => {
    expect(() => decodeRegisters([0x0001], 0, L('uint32'))).toThrow(RangeError);
  });

  it('encodeRegisters is the exact inverse for every type and order', () => {
    const values: Record<ModbusType, number | boolean> = {
      bool: true,
      int16: -1234,
      uint16: 65000,
      int32: -2_000_000_000,
      uint32: 4_000_000_000,
      float32: -3.5,
      float64: Math.PI,
    };
    for (const [type, v] of Object.entries(values) as [ModbusType, number | boolean][]) {
      for (const bo of ['BE', 'LE'] as const) {
        for (const wo of ['BE', 'LE'] as const) {
          const layout = L(type, bo, wo, type === 'bool' ? 5 : undefined);
          const words = encodeRegisters(v, layout);
          expect(words).toHaveLength(wordsOf(type));
          expect(decodeRegisters(words, 0, layout), `${type} ${bo}/${wo}`).toBe(v);
        }
      }
    }
  });
});

describe('decodeBit / decodeBlock', () => {
  it('reads bits by offset', () => {
    expect(decodeBit([false, true], 1)).toBe(true);
    expect(() => decodeBit([true], 3)).toThrow(RangeError);
  });

  it('decodes every point of a block and flags NaN and short responses', () => {
    const block = {
      start: 10,
      points: [
        { name: 'a', area: 'holding', address: 10, ...L('uint16') },
        { name: 'b', area: 'holding', address: 11, ...L('float32') },
        { name: 'c', area: 'holding', address: 13, ...L('uint32') },
      ],
    };
    const out = decodeBlock(block, { words: [7, 0x7fc0, 0x0000, 0x0001] });
    expect(out[0]).toEqual({ name: 'a', value: 7 });
    expect(out[1]).toEqual({ name: 'b', error: 'device returned NaN' });
    expect(out[2]).toMatchObject({ name: 'c', error: 'short response: register 4 missing (value needs 2 registers from 3)' });
  });
});
