// Request planning: merge the points of one area into as few reads as the limits allow, and split
// blocks a device rejects. A rejection is remembered as a "cut": an address where a block must start,
// so the smaller plan survives replanning and restarts (see SplitMemory in splits.ts).
import type { ByteOrder, ModbusArea, ModbusType } from '../../core/profiles.js';
import { wordsOf } from './decode.js';

/** One profile point with its Modbus mapping resolved against the profile defaults. */
export interface PlannedPoint {
  name: string;
  area: ModbusArea;
  address: number;
  type: ModbusType;
  byteOrder: ByteOrder;
  wordOrder: ByteOrder;
  bit?: number;
}

/** One read request: `count` registers (or bits) from `start`, carrying the points it serves. */
export interface Block {
  area: ModbusArea;
  start: number;
  count: number;
  points: PlannedPoint[];
}

export interface PlanOptions {
  /** Unused registers/bits that may be read to merge two points into one request. */
  maxGap: number;
  /** Registers per request (Modbus limit 125). */
  maxRegisters: number;
  /** Coils / discrete inputs per request (Modbus limit 2000). */
  maxBits: number;
  /** Remembered splits: keys from cutKey(); a block never spans across one. */
  cuts?: ReadonlySet<string>;
}

export const MODBUS_MAX_REGISTERS = 125;
export const MODBUS_MAX_BITS = 2000;
export const AREA_ORDER: readonly ModbusArea[] = ['holding', 'input', 'coil', 'discrete'];

export const isBitArea = (area: ModbusArea): boolean => area === 'coil' || area === 'discrete';

/** Registers (or bits) the point occupies. */
export const widthOf = (p: PlannedPoint): number => (isBitArea(p.area) ? 1 : wordsOf(p.type));

/** Key of a remembered split: "a block must start at this address of this area". */
export const cutKey = (area: ModbusArea, address: number): string => `${area}:${address}`;

export function parseCutKey(key: string): { area: ModbusArea; address: number } | undefined {
  const m = /^(coil|discrete|holding|input):(\d{1,5})$/.exec(key);
  if (!m) return undefined;
  const address = Number(m[2]);
  return address <= 65535 ? { area: m[1] as ModbusArea, address } : undefined;
}

function blockOf(points: PlannedPoint[]): Block {
  const first = points[0];
  if (!first) throw new Error('blockOf: no points');
  const start = Math.min(...points.map((p) => p.address));
  const end = Math.max(...points.map((p) => p.address + widthOf(p)));
  return { area: first.area, start, count: end - start, points };
}

/**
 * Plans the fewest requests: points of the same area sorted by address join the current block while
 * the unused span between them is <= maxGap, the block stays within the per-request limit and no
 * remembered cut lies in between. A single point wider than the limit still gets its own block.
 */
export function planBlocks(points: readonly PlannedPoint[], opts: PlanOptions): Block[] {
  const blocks: Block[] = [];
  for (const area of AREA_ORDER) {
    const limit = isBitArea(area)
      ? Math.min(opts.maxBits, MODBUS_MAX_BITS)
      : Math.min(opts.maxRegisters, MODBUS_MAX_REGISTERS);
    const inArea = points
      .filter((p) => p.area === area)
      .sort((a, b) => a.address - b.address || widthOf(b) - widthOf(a));
    const cutAddresses = [...(opts.cuts ?? [])]
      .map(parseCutKey)
      .filter((c): c is { area: ModbusArea; address: number } => c?.area === area)
      .map((c) => c.address);
    let current: PlannedPoint[] = [];
    let start = 0;
    let end = 0; // exclusive
    for (const p of inArea) {
      const pEnd = p.address + widthOf(p);
      if (current.length > 0) {
        const gap = p.address - end;
        const newEnd = Math.max(end, pEnd);
        const cutBetween = cutAddresses.some((c) => c > start && c <= p.address);
        if (gap <= opts.maxGap && newEnd - start <= limit && !cutBetween) {
          current.push(p);
          end = newEnd;
          continue;
        }
        blocks.push(blockOf(current));
      }
      current = [p];
      start = p.address;
      end = pEnd;
    }
    if (current.length > 0) blocks.push(blockOf(current));
  }
  return blocks;
}

/**
 * Splits a rejected block in two and returns the halves and the cut that separates them; undefined
 * when the block serves a single address and cannot be split. The cut goes at the widest stretch of
 * unmapped registers the block read (the likely cause of an illegal-address rejection; ties go to the
 * one nearest the middle); a block without such gaps (e.g. a device with a smaller request limit) is
 * halved by address. Repeated rejections thus narrow a block down to single points.
 */
export function splitBlock(block: Block): { halves: [Block, Block]; cut: string } | undefined {
  const sorted = [...block.points].sort((a, b) => a.address - b.address);
  // Points sharing an address (bits of one register) stay together: cuts go between distinct addresses.
  const addresses = [...new Set(sorted.map((p) => p.address))];
  if (addresses.length < 2) return undefined;
  const middle = (addresses.length - 1) / 2;
  let cutIndex = Math.ceil(addresses.length / 2);
  let widest = 0;
  let end = block.start;
  addresses.forEach((address, i) => {
    const gap = address - end;
    const better = gap > widest || (gap === widest && gap > 0 && Math.abs(i - middle) < Math.abs(cutIndex - middle));
    if (i > 0 && better) {
      widest = gap;
      cutIndex = i;
    }
    for (const p of sorted) if (p.address === address) end = Math.max(end, p.address + widthOf(p));
  });
  const cutAddress = addresses[cutIndex];
  if (cutAddress === undefined) return undefined;
  const first = sorted.filter((p) => p.address < cutAddress);
  const second = sorted.filter((p) => p.address >= cutAddress);
  return { halves: [blockOf(first), blockOf(second)], cut: cutKey(block.area, cutAddress) };
}
