// Data-driven cases from protocols/sl651/testcases/: frame hex (or ASCII text) in → header fields, samples,
// status, errors and confirmations out, through the real session (framer → parser → auth → mapper → confirm).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, loadProfileFile } from '../../../core/profiles.js';
import { Sl651Framer, ESC, type Sl651Frame } from '../../../protocols/sl651/framer.js';
import { elementIndex } from '../../../protocols/sl651/map.js';
import { Sl651Session, type StationEntry } from '../../../protocols/sl651/server.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const DIR = fileURLToPath(new URL('../../../protocols/sl651/testcases/', import.meta.url));

interface Case {
  description: string;
  hex?: string;
  ascii?: string;
  expect: {
    frame?: Partial<Sl651Frame>;
    errors: { kind: string; detail?: string; deviceId?: string }[];
    samples: (Record<string, unknown> & { ts?: string })[];
    status: Record<string, unknown>[];
    confirmations: Record<string, unknown>[];
  };
}

const hydro = loadProfileFile(join(BUILTIN_PROFILE_DIR, 'sl651-hydrology-station.yaml'));
const STATIONS = new Map<string, StationEntry>([['0012345678', { id: 'hydro-1', password: '1234', centre: 1, elements: elementIndex(hydro) }]]);

export const caseInput = (c: Case): Buffer => (c.hex !== undefined ? Buffer.from(c.hex, 'hex') : Buffer.from(c.ascii ?? '', 'latin1'));

describe('sl651 testcases', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  it('has cases', () => expect(files.length).toBeGreaterThanOrEqual(12));
  for (const file of files) {
    const c = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Case;
    it(`${file}: ${c.description}`, () => {
      const input = caseInput(c);
      const sink = new RecordingSink();
      const log = new MemoryLogger();
      const written: Buffer[] = [];
      const session = new Sl651Session({ sink, log, station: (a) => STATIONS.get(a), confirm: true, confirmEnd: ESC }, (d) => written.push(d));
      session.onData(input);
      if (c.expect.frame) {
        const ev = new Sl651Framer().push(input)[0];
        if (!ev?.ok) throw new Error('expected a frame');
        expect(ev.frame).toMatchObject(c.expect.frame);
      }
      expect(sink.errorLog.map((e) => e.kind)).toEqual(c.expect.errors.map((e) => e.kind));
      c.expect.errors.forEach((e, i) => {
        const got = sink.errorLog[i]!;
        expect(got.protocol).toBe('sl651');
        if (e.detail) expect(got.detail).toContain(e.detail);
        if (e.deviceId) expect(got.deviceId).toBe(e.deviceId);
      });
      expect(sink.sampleLog).toEqual(c.expect.samples.map((s) => ({ ...s, ...(s.ts ? { ts: Date.parse(s.ts) } : {}) })));
      expect(sink.statusLog.map(({ ts: _ts, detail: _d, ...r }) => r)).toEqual(c.expect.status);
      const confirmations = written.flatMap((w) => new Sl651Framer().push(w)).map((e) => {
        if (!e.ok) throw new Error(`confirmation invalid: ${e.detail}`);
        return { ...e.frame, serial: e.frame.mode === 'hex' ? e.frame.body.readUInt16BE(0) : parseInt(e.frame.body.toString('latin1', 0, 4), 16) };
      });
      expect(confirmations).toHaveLength(c.expect.confirmations.length);
      confirmations.forEach((got, i) => {
        expect(got).toMatchObject({ up: false, ...c.expect.confirmations[i] });
        expect(got.body.length).toBe(got.mode === 'hex' ? 8 : 16); // serial + send time
      });
    });
  }
});
