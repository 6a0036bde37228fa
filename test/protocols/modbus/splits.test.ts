import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SplitMemory } from '../../../protocols/modbus/splits.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('SplitMemory', () => {
  it('persists cuts per device and reloads them', () => {
    dir = mkdtempSync(join(tmpdir(), 'yiwang-splits-'));
    const file = join(dir, 'state', 'modbus-splits.json');
    const a = new SplitMemory(file);
    expect(a.add('dev-1', 'holding:10')).toBe(true);
    expect(a.add('dev-1', 'holding:10')).toBe(false);
    a.add('dev-1', 'coil:3');
    a.add('dev-2', 'input:0');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, devices: { 'dev-1': ['coil:3', 'holding:10'], 'dev-2': ['input:0'] } });
    const b = new SplitMemory(file);
    expect([...b.cuts('dev-1')].sort()).toEqual(['coil:3', 'holding:10']);
    b.forget('dev-1');
    expect(new SplitMemory(file).cuts('dev-1').size).toBe(0);
  });

  it('reports an unreadable file and ignores invalid entries', () => {
    dir = mkdtempSync(join(tmpdir(), 'yiwang-splits-'));
    const file = join(dir, 'modbus-splits.json');
    writeFileSync(file, '{not json');
    const problems: string[] = [];
    const m = new SplitMemory(file, (d) => problems.push(d));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ignoring .*modbus-splits\.json: not valid JSON/);
    writeFileSync(file, JSON.stringify({ version: 1, devices: { d: ['holding:5', 'bogus', 7, 'coil:99999'], e: 'x' } }));
    expect([...new SplitMemory(file).cuts('d')]).toEqual(['holding:5']);
    expect(m.cuts('nobody').size).toBe(0);
  });

  it('keeps splits in memory only without a file', () => {
    const m = new SplitMemory();
    m.add('d', 'holding:1');
    expect([...m.cuts('d')]).toEqual(['holding:1']);
  });
});
