// Data-driven decoding cases: protocols/modbus/testcases/*.json give register contents (hex words by
// start address, bits as 0/1) and point definitions, and the expected requests and decoded values.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DeviceProfile, PointDef } from '../../../core/profiles.js';
import { planBlocks } from '../../../protocols/modbus/blocks.js';
import { plannedPoints, resolveSettings } from '../../../protocols/modbus/config.js';
import { decodeBlock } from '../../../protocols/modbus/decode.js';

interface TestCase {
  description: string;
  profile?: { modbus?: DeviceProfile['modbus'] };
  registers: Partial<Record<'holding' | 'input' | 'coils' | 'discrete', Record<string, string>>>;
  points: { name: string; modbus: PointDef['modbus'] }[];
  expectedRequests?: string[];
  expected: Record<string, number | boolean | { approx: number; digits: number }>;
}

const dir = fileURLToPath(new URL('../../../protocols/modbus/testcases/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

/** Expands {"start": "hex words" | "0 1 ..."} into an address -> value map. */
function memory(spec: Record<string, string> | undefined, parse: (tok: string) => number | boolean): Map<number, number | boolean> {
  const m = new Map<number, number | boolean>();
  for (const [start, text] of Object.entries(spec ?? {})) {
    text.trim().split(/\s+/).forEach((tok, i) => m.set(Number(start) + i, parse(tok)));
  }
  return m;
}

function slice<T>(m: Map<number, unknown>, start: number, count: number): T[] {
  return Array.from({ length: count }, (_, i) => {
    const v = m.get(start + i);
    if (v === undefined) throw new Error(`test case reads address ${start + i}, which it does not define`);
    return v as T;
  });
}

describe('modbus decoding test cases', () => {
  it('finds test cases', () => expect(files.length).toBeGreaterThanOrEqual(3));

  it.each(files)('%s', (file) => {
    const tc = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as TestCase;
    const profile: DeviceProfile = {
      id: 'testcase',
      manufacturer: 't',
      model: 't',
      kind: 'sensor',
      protocol: 'modbus',
      ...(tc.profile?.modbus ? { modbus: tc.profile.modbus } : {}),
      points: tc.points.map((p) => ({ name: p.name, metric: 'x', modbus: p.modbus })),
    };
    const s = resolveSettings({ host: 'h' }, profile);
    const blocks = planBlocks(plannedPoints(profile), { maxGap: s.maxGap, maxRegisters: s.maxRegisters, maxBits: s.maxBits });
    if (tc.expectedRequests) expect(blocks.map((b) => `${b.area}:${b.start}+${b.count}`)).toEqual(tc.expectedRequests);

    const words = { holding: memory(tc.registers.holding, (t) => parseInt(t, 16)), input: memory(tc.registers.input, (t) => parseInt(t, 16)) };
    const bits = { coil: memory(tc.registers.coils, (t) => t === '1'), discrete: memory(tc.registers.discrete, (t) => t === '1') };
    const got: Record<string, unknown> = {};
    for (const b of blocks) {
      const data =
        b.area === 'coil' || b.area === 'discrete' ? { bits: slice<boolean>(bits[b.area], b.start, b.count) } : { words: slice<number>(words[b.area], b.start, b.count) };
      for (const d of decodeBlock(b, data)) got[d.name] = 'value' in d ? d.value : `error: ${d.error}`;
    }
    expect(Object.keys(got).sort()).toEqual(Object.keys(tc.expected).sort());
    for (const [name, want] of Object.entries(tc.expected)) {
      if (typeof want === 'object') expect(got[name] as number, name).toBeCloseTo(want.approx, want.digits);
      else expect(got[name], name).toBe(want);
    }
  });
});
