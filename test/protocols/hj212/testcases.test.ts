// Data-driven cases from protocols/hj212/testcases/: frame text in → packet fields, samples, status,
// errors and answers out, through the real session (framer → parser → auth → mapper → answer).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, loadProfileFile } from '../../../core/profiles.js';
import { Hj212Framer } from '../../../protocols/hj212/framer.js';
import { factorIndex } from '../../../protocols/hj212/map.js';
import { parseSegment } from '../../../protocols/hj212/parse.js';
import { Hj212Session, type StationEntry } from '../../../protocols/hj212/server.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const DIR = fileURLToPath(new URL('../../../protocols/hj212/testcases/', import.meta.url));

interface Case {
  description: string;
  input: string;
  expect: {
    packet?: Record<string, unknown> & { params?: Record<string, string> };
    errors: { kind: string; detail?: string; deviceId?: string }[];
    samples: (Record<string, unknown> & { ts?: string })[];
    status: Record<string, unknown>[];
    answers: { cn: string; qn: string; cp: string }[];
  };
}

const profile = (id: string) => loadProfileFile(join(BUILTIN_PROFILE_DIR, `${id}.yaml`));
const water = profile('hj212-water-quality-station');
const air = profile('hj212-air-quality-station');
const STATIONS = new Map<string, StationEntry>([
  ['HJ0001WATER', { id: 'water-1', password: '123456', factors: factorIndex(water) }],
  ['HJ0002AIR', { id: 'air-1', password: '654321', factors: factorIndex(air) }],
  ['010000A8900016F000169DC0', { id: 'std-example', password: '100000', factors: factorIndex(water) }],
]);

function run(input: string) {
  const sink = new RecordingSink();
  const log = new MemoryLogger();
  const written: string[] = [];
  const session = new Hj212Session({ sink, log, station: (mn) => STATIONS.get(mn) }, (d) => written.push(d));
  session.onData(Buffer.from(input, 'latin1'));
  return { sink, log, written };
}

describe('hj212 testcases', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  it('has cases', () => expect(files.length).toBeGreaterThanOrEqual(10));
  for (const file of files) {
    const c = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Case;
    it(`${file}: ${c.description}`, () => {
      const { sink, log, written } = run(c.input);
      if (c.expect.packet) {
        const frames = new Hj212Framer().push(c.input).filter((e) => e.ok);
        const last = frames[frames.length - 1];
        if (!last || !last.ok) throw new Error('expected a good frame');
        const p = parseSegment(last.segment);
        const { params, ...fields } = c.expect.packet;
        expect(p).toMatchObject(fields);
        if (params) expect(Object.fromEntries(p.params)).toEqual(params);
      }
      expect(sink.errorLog.map((e) => e.kind)).toEqual(c.expect.errors.map((e) => e.kind));
      c.expect.errors.forEach((e, i) => {
        const got = sink.errorLog[i]!;
        expect(got.protocol).toBe('hj212');
        if (e.detail) expect(got.detail).toContain(e.detail);
        if (e.deviceId) expect(got.deviceId).toBe(e.deviceId);
      });
      if (c.expect.errors.length) expect(log.text()).toMatch(/refused|rejected/);
      const want = c.expect.samples.map((s) => ({ ...s, ...(s.ts ? { ts: Date.parse(s.ts) } : {}) }));
      expect(sink.sampleLog).toEqual(want);
      expect(sink.statusLog.map(({ ts: _ts, detail: _d, ...r }) => r)).toEqual(c.expect.status);
      const answers = written.flatMap((w) => new Hj212Framer().push(w)).map((e) => {
        if (!e.ok) throw new Error(`answer frame invalid: ${e.detail}`);
        const p = parseSegment(e.segment);
        expect(p.flag).toBe(4);
        expect(p.st).toBe('91');
        return { cn: p.cn, qn: p.qn, cp: [...p.params].map(([k, v]) => `${k}=${v}`).join(';') };
      });
      expect(answers).toEqual(c.expect.answers);
      // Secrets never reach the log.
      expect(log.text()).not.toContain('PW=');
      const logged = log.lines.flatMap((l) => Object.values(l.obj).map(String));
      for (const pw of ['123456', '654321', '100000', '000000']) expect(logged).not.toContain(pw);
    });
  }
});
