import { describe, expect, it } from 'vitest';
import type { ModbusArea, ModbusType } from '../../../core/profiles.js';
import { cutKey, parseCutKey, planBlocks, splitBlock, type Block, type PlannedPoint } from '../../../protocols/modbus/blocks.js';

const pt = (name: string, area: ModbusArea, address: number, type: ModbusType = 'uint16', bit?: number): PlannedPoint => ({
  name,
  area,
  address,
  type,
  byteOrder: 'BE',
  wordOrder: 'BE',
  ...(bit !== undefined ? { bit } : {}),
});
const opts = { maxGap: 8, maxRegisters: 125, maxBits: 2000 };
const spans = (blocks: Block[]) => blocks.map((b) => `${b.area}:${b.start}+${b.count}`);

describe('planBlocks', () => {
  it('merges adjacent and near points of one area into one request, never across areas', () => {
    const points = [
      pt('level', 'holding', 0),
      pt('flow', 'holding', 2, 'float32'),
      pt('total', 'holding', 4, 'int32'),
      pt('rain', 'holding', 10, 'uint32'),
      pt('temp', 'input', 0, 'int16'),
      pt('pump', 'coil', 0, 'bool'),
      pt('valve', 'coil', 5, 'bool'),
      pt('door', 'discrete', 3, 'bool'),
    ];
    expect(spans(planBlocks(points, opts))).toEqual(['holding:0+12', 'input:0+1', 'coil:0+6', 'discrete:3+1']);
  });

  it('respects the maximum gap exactly', () => {
    const points = [pt('a', 'holding', 0), pt('b', 'holding', 4)]; // 3 unused registers in between
    expect(spans(planBlocks(points, { ...opts, maxGap: 3 }))).toEqual(['holding:0+5']);
    expect(spans(planBlocks(points, { ...opts, maxGap: 2 }))).toEqual(['holding:0+1', 'holding:4+1']);
    expect(spans(planBlocks(points, { ...opts, maxGap: 0 }))).toEqual(['holding:0+1', 'holding:4+1']);
    expect(spans(planBlocks([pt('a', 'holding', 0), pt('b', 'holding', 1)], { ...opts, maxGap: 0 }))).toEqual(['holding:0+2']);
  });

  it('keeps blocks within the register limit (and at most 125)', () => {
    const points = Array.from({ length: 10 }, (_, i) => pt(`p${i}`, 'input', i * 2, 'float32')); // 0..19
    expect(spans(planBlocks(points, { ...opts, maxRegisters: 8 }))).toEqual(['input:0+8', 'input:8+8', 'input:16+4']);
    const many = Array.from({ length: 200 }, (_, i) => pt(`r${i}`, 'holding', i));
    expect(spans(planBlocks(many, { ...opts, maxRegisters: 2000 }))).toEqual(['holding:0+125', 'holding:125+75']);
    // A value never straddles two requests.
    const blocks = planBlocks(points, { ...opts, maxRegisters: 3 });
    expect(blocks.every((b) => b.count <= 3 && b.points.length === 1)).toBe(true);
  });

  it('keeps bit blocks within 2000 bits', () => {
    const coils = [pt('first', 'coil', 0, 'bool'), pt('last', 'coil', 2500, 'bool'), ...Array.from({ length: 400 }, (_, i) => pt(`c${i}`, 'coil', i * 6, 'bool'))];
    const blocks = planBlocks(coils, { ...opts, maxGap: 10 });
    expect(blocks.every((b) => b.count <= 2000)).toBe(true);
    expect(spans(blocks)).toEqual(['coil:0+1999', 'coil:2004+391', 'coil:2500+1']);
  });

  it('gives a value wider than the limit its own block', () => {
    expect(spans(planBlocks([pt('d', 'holding', 0, 'float64'), pt('e', 'holding', 4)], { ...opts, maxRegisters: 2 }))).toEqual([
      'holding:0+4',
      'holding:4+1',
    ]);
  });

  it('merges bits of one register and overlapping points', () => {
    const blocks = planBlocks([pt('b0', 'holding', 6, 'bool', 0), pt('b3', 'holding', 6, 'bool', 3), pt('w', 'holding', 6)], opts);
    expect(spans(blocks)).toEqual(['holding:6+1']);
    expect(blocks[0]?.points.map((p) => p.name)).toEqual(['b0', 'b3', 'w']);
  });

  it('never spans a remembered cut', () => {
    const points = [pt('a', 'holding', 0), pt('b', 'holding', 2), pt('c', 'holding', 4), pt('d', 'input', 2)];
    const cuts = new Set([cutKey('holding', 4), cutKey('input', 2)]);
    expect(spans(planBlocks(points, { ...opts, cuts }))).toEqual(['holding:0+3', 'holding:4+1', 'input:2+1']);
  });
});

describe('splitBlock', () => {
  const blockOf = (points: PlannedPoint[]) => planBlocks(points, opts)[0] as Block;

  it('cuts at the widest stretch of unmapped registers', () => {
    const block = blockOf([pt('a', 'holding', 0), pt('b', 'holding', 2, 'float32'), pt('c', 'holding', 4, 'int32'), pt('d', 'holding', 10, 'uint32'), pt('e', 'holding', 12)]);
    const split = splitBlock(block);
    expect(split?.cut).toBe('holding:10');
    expect(split && spans(split.halves)).toEqual(['holding:0+6', 'holding:10+3']);
  });

  it('halves a block without gaps, down to single points', () => {
    let block = blockOf([pt('a', 'input', 0), pt('b', 'input', 1), pt('c', 'input', 2), pt('d', 'input', 3)]);
    const cuts: string[] = [];
    for (;;) {
      const s = splitBlock(block);
      if (!s) break;
      cuts.push(s.cut);
      expect(s.halves[0].points.length + s.halves[1].points.length).toBe(block.points.length);
      block = s.halves[0];
    }
    expect(cuts).toEqual(['input:2', 'input:1']);
    expect(spans([block])).toEqual(['input:0+1']);
  });

  it('prefers the gap nearest the middle on ties', () => {
    const block = blockOf([pt('a', 'holding', 0), pt('b', 'holding', 2), pt('c', 'holding', 4), pt('d', 'holding', 6), pt('e', 'holding', 8)]);
    expect(splitBlock(block)?.cut).toBe('holding:4');
  });

  it('cannot split a single address (bits of one register stay together)', () => {
    expect(splitBlock(blockOf([pt('x', 'holding', 6, 'bool', 0), pt('y', 'holding', 6, 'bool', 3)]))).toBeUndefined();
    expect(splitBlock(blockOf([pt('x', 'coil', 1, 'bool')]))).toBeUndefined();
  });
});

describe('cut keys', () => {
  it('round-trips and rejects garbage', () => {
    expect(parseCutKey(cutKey('discrete', 65535))).toEqual({ area: 'discrete', address: 65535 });
    expect(parseCutKey('holding:70000')).toBeUndefined();
    expect(parseCutKey('register:1')).toBeUndefined();
    expect(parseCutKey('holding:-1')).toBeUndefined();
  });
});
