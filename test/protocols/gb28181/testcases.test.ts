// Data-driven cases from protocols/gb28181/testcases/: MANSCDP bodies (decode → message or precise error),
// INVITE SDP offers (→ offer fields or the SIP refusal) and raw SIP messages (→ structural problem or none).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sip from 'sip';
import { describe, expect, it } from 'vitest';
import { decodeManscdp, type Charset } from '../../../protocols/gb28181/manscdp.js';
import { parsePlayOffer } from '../../../protocols/gb28181/sdp.js';
import { sipMessageProblem } from '../../../protocols/gb28181/sip.js';

const DIR = fileURLToPath(new URL('../../../protocols/gb28181/testcases/', import.meta.url));

type Case =
  | { kind: 'manscdp'; description: string; input?: string; inputHex?: string; fallback?: Charset; expect: { ok: boolean; error?: string; fields?: Record<string, string> } & Record<string, unknown> }
  | { kind: 'sdp'; description: string; input: string; expect: { ok: boolean; offer?: Record<string, unknown>; status?: number; reason?: string } }
  | { kind: 'sip'; description: string; input: string; expect: { problem: string | null; method?: string } };

describe('gb28181 testcases', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  it('has cases of every kind', () => {
    const kinds = new Set(files.map((f) => (JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Case).kind));
    expect([...kinds].sort()).toEqual(['manscdp', 'sdp', 'sip']);
    expect(files.length).toBeGreaterThanOrEqual(20);
  });
  for (const file of files) {
    const c = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Case;
    it(`${file}: ${c.description}`, () => {
      if (c.kind === 'manscdp') {
        const body = c.inputHex ? Buffer.from(c.inputHex, 'hex') : Buffer.from(c.input ?? '', 'utf8');
        const r = decodeManscdp(body, c.fallback ?? 'GB2312');
        const { ok, error, fields, ...message } = c.expect;
        expect(r.ok).toBe(ok);
        if (!r.ok) expect(r.error).toContain(error);
        else {
          expect(r.message).toMatchObject(message);
          if (fields) expect(r.message.fields).toMatchObject(fields);
        }
      } else if (c.kind === 'sdp') {
        const r = parsePlayOffer(c.input);
        expect(r.ok).toBe(c.expect.ok);
        if (r.ok) expect(r.offer).toMatchObject(c.expect.offer ?? {});
        else expect({ status: r.status, reason: r.reason }).toEqual({ status: c.expect.status, reason: c.expect.reason });
      } else {
        const m = sip.parse(Buffer.from(c.input, 'latin1'));
        expect(sipMessageProblem(m) ?? null).toBe(c.expect.problem);
        if (c.expect.method) expect(m?.method).toBe(c.expect.method);
      }
    });
  }
});
