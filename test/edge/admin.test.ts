// The edge admin HTTP against hostile or clumsy clients (raw TCP, so nothing is normalised on the way): bad
// percent-encodings, odd request targets, huge headers and bodies, wrong methods, bad JSON. Every answer is a
// 4xx with a message — never a 5xx, never a crash — and the server keeps serving.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { freePort } from '../../core/net.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { writeEdgeConfig } from '../fixtures/edge-process.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-admin-'));
let agent: EdgeAgent;

beforeAll(async () => {
  const configFile = writeEdgeConfig(dir, {
    edge: { id: 'edge-admin' },
    site: { id: 's1', type: 'village' },
    uplink: { url: `mqtt://127.0.0.1:${await freePort()}`, password: 'x' },
    buffer: { dir: join(dir, 'buffer') },
    admin: { host: '127.0.0.1', port: 0 },
    devices: [],
  });
  agent = await startEdge({ configFile, adminPort: 0, log: silentLogger });
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw bytes and returns the status code of the answer (0 when the server closed without one). */
function raw(request: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const s = net.connect(agent.adminPort, '127.0.0.1');
    let text = '';
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    s.end(request);
    setTimeout(() => s.destroy(), 5000);
  });
}

const req = (line: string, headers: Record<string, string> = {}, body = '') =>
  `${line}\r\n${Object.entries({ host: 'edge', connection: 'close', ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body}`;

describe('edge admin HTTP under bad client input', () => {
  it('answers 4xx with a message to every malformed request and keeps serving', async () => {
    const auth = { authorization: `Bearer ${agent.adminToken}` };
    // [what, request, expected status, answered by Node's HTTP parser itself (no JSON body)]
    const cases: [string, string | Buffer, number, 'node'?][] = [
      ['malformed percent-encoding in a device id', req('GET /api/v1/devices/%E0%A4%A HTTP/1.1', auth), 400],
      ['lone percent sign', req('GET /api/v1/devices/% HTTP/1.1', auth), 400],
      ['malformed encoding before auth', req('GET /%ZZ HTTP/1.1'), 400],
      ['invalid URL target', req('GET //[ HTTP/1.1', auth), 404],
      ['asterisk target', req('OPTIONS * HTTP/1.1', auth), 400],
      ['absolute-form target', req('GET http://edge/metrics HTTP/1.1', auth), 400],
      ['wrong method on status', req('DELETE /api/v1/status HTTP/1.1', auth), 405],
      ['wrong method on healthz', req('POST /healthz HTTP/1.1', {}, '{}'), 405],
      ['wrong method on retry', req('GET /api/v1/parked/retry HTTP/1.1', auth), 405],
      ['no token', req('GET /metrics HTTP/1.1'), 401],
      ['wrong token', req('GET /api/v1/status HTTP/1.1', { authorization: 'Bearer nope' }), 401],
      ['unknown path', req('GET /api/v1/nothing HTTP/1.1', auth), 404],
      ['bad JSON', req('POST /api/v1/parked/retry HTTP/1.1', { ...auth, 'content-type': 'application/json' }, '{"ids": [1,'), 400],
      ['JSON array', req('POST /api/v1/parked/retry HTTP/1.1', auth, '[1,2]'), 400],
      ['JSON null', req('POST /api/v1/parked/retry HTTP/1.1', auth, 'null'), 400],
      ['negative id', req('POST /api/v1/parked/retry HTTP/1.1', auth, '{"ids":[-1]}'), 400],
      ['both all and ids', req('POST /api/v1/parked/retry HTTP/1.1', auth, '{"all":true,"ids":[1]}'), 400],
      ['all not true', req('POST /api/v1/parked/retry HTTP/1.1', auth, '{"all":"yes"}'), 400],
      ['invalid UTF-8 body', Buffer.concat([Buffer.from(req('POST /api/v1/parked/retry HTTP/1.1', { ...auth, 'content-length': '4' })), Buffer.from([0xff, 0xfe, 0x7b, 0xc3])]), 400],
      ['huge body', req('POST /api/v1/parked/retry HTTP/1.1', auth, `{"ids":[${'1,'.repeat(500_000)}1]}`), 413],
      ['huge declared body', req('POST /api/v1/parked/retry HTTP/1.1', { ...auth, 'content-length': '999999999' }), 413],
      ['huge header', req('GET /api/v1/status HTTP/1.1', { ...auth, 'x-junk': 'a'.repeat(100_000) }), 431, 'node'],
      ['bad content-length', req('POST /api/v1/parked/retry HTTP/1.1', { ...auth, 'content-length': 'abc' }), 400, 'node'],
      ['not HTTP at all', '\u0000\u0001garbage\r\n\r\n', 400, 'node'],
    ];
    for (const [what, request, want, by] of cases) {
      const { status, text } = await raw(request);
      expect(status, `${what}: ${text.slice(0, 300)}`).toBe(want);
      if (by !== 'node') expect(text, `${what}: says what is wrong`).toMatch(/"error":"[^"]{8,}"/);
    }
    // A good request still works, and a valid retry with nothing parked says so.
    expect((await raw(req('GET /healthz HTTP/1.1'))).status).toBe(200);
    const ok = await raw(req('POST /api/v1/parked/retry HTTP/1.1', { authorization: `Bearer ${agent.adminToken}` }, '{"all":true}'));
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('{"retried":0}');
    const list = await raw(req('GET /api/v1/parked HTTP/1.1', { authorization: `Bearer ${agent.adminToken}` }));
    expect(list.text).toContain('"chunks":0');
  }, 60_000);
});
