// Bad input at the collector, on both stores: junk on the batch topic and malformed HTTP requests. Nothing answers
// 5xx to client input, the log stays small (one line per peer and kind per interval), memory stays flat, and good
// traffic keeps flowing.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../../collector/index.js';
import { freePort } from '../../core/net.js';
import { apiJson, portOpen, readingsBatch, sleep, stopProcess, STORES, tempDir, testConfig, testStore, TestEdge, waitFor } from './helpers.js';

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** A logger that counts what it would write. */
function countingLogger() {
  const counter = { bytes: 0, lines: 0 };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      counter.bytes += chunk.length;
      counter.lines++;
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), counter };
}

describe.each(STORES)('bad input at the collector (%s store)', (kind) => {
  const tmp = tempDir();
  let c: Collector;
  let cleanup: () => Promise<void>;
  let admin: string;
  const logged = countingLogger();

  beforeAll(async () => {
    const s = await testStore(kind);
    cleanup = s.cleanup;
    c = await startCollector({ config: testConfig(tmp.dir, (cfg) => (cfg.store = s.url)), log: logged.log });
    admin = await c.createToken({ name: 'ops', admin: true });
  });
  afterAll(async () => {
    await c.stop();
    await cleanup();
    tmp.remove();
  });

  it('takes 10,000 junk payloads on an edge\'s batch topic with a small log and flat memory, and still stores good batches', async () => {
    // A real collector process, so its RSS and its log (stdout) are its own.
    const dataDir = join(tmp.dir, 'proc');
    const storeUrl = c.config.store;
    const cli = (...args: string[]) => execFileSync(process.execPath, ['bin/yiwang.js', 'collector', ...args, '--data-dir', dataDir, '--store', storeUrl], { encoding: 'utf8' }).trim();
    const password = cli('edge', 'add', '--id', 'edge-junk');
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const proc = spawn(process.execPath, ['bin/yiwang.js', 'collector', '--data-dir', dataDir, '--store', storeUrl, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let logBytes = 0;
    proc.stdout!.on('data', (d: Buffer) => (logBytes += d.length));
    try {
      await waitFor('collector process listening', () => portOpen(mqttPort), 30_000);
      const e = await TestEdge.connect(mqttPort, 'edge-junk', password);
      await e.send(readingsBatch('edge-junk', 1, 1, 5, { device: 'junk-dev' }));
      await sleep(500);
      const rss0 = rssOf(proc.pid!);
      const log0 = logBytes;
      let x = 12345;
      const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
      for (let round = 0; round < 10; round++) {
        const sent: Promise<unknown>[] = [];
        for (let i = 0; i < 1000; i++) {
          const junk = Buffer.alloc(1 + (rand() % 200));
          for (let j = 0; j < junk.length; j++) junk[j] = rand() & 0xff;
          sent.push(e.client.publishAsync('yiwang/v1/edges/edge-junk/batch', junk, { qos: 1 }));
        }
        await Promise.all(sent);
        await e.send(readingsBatch('edge-junk', 100 + round, 100 + round, 1, { device: 'junk-dev' })); // good traffic in between
      }
      const ok = await e.send(readingsBatch('edge-junk', 2, 20_000, 5, { device: 'junk-dev' }));
      expect(ok.committed).toEqual([{ first: 20_000, last: 20_004 }]);
      const rejected = e.acks.filter((a) => a.rejected).length;
      expect(rejected).toBeGreaterThan(9_000); // almost every junk payload fails to decode, and is refused
      await sleep(500);
      expect(logBytes - log0).toBeLessThan(1024 * 1024);
      expect(rssOf(proc.pid!) - rss0).toBeLessThan(50 * 1024 * 1024);
      await e.close();
      const latest = await apiJson<{ latest: { value: number }[] }>(httpPort, cli('token', 'create', '--admin', '--name', 'junk-ops'), '/api/v1/latest?device=junk-dev');
      expect(latest.body.latest[0]!.value).toBe(20_004);
    } finally {
      await stopProcess(proc);
    }
  }, 120_000);

  it('answers malformed HTTP requests with 4xx, never 5xx', async () => {
    const base = `http://127.0.0.1:${c.httpPort}`;
    const auth = { authorization: `Bearer ${admin}` };
    const cases: [string, string, RequestInit?][] = [
      ['GET', '/api/v1/devices/%E0%A4%A'],
      ['GET', '/api/v1/devices/%00'],
      ['GET', `/api/v1/devices/${'x'.repeat(5000)}`],
      ['GET', '/api/v1/devices?q=%00'],
      ['GET', '/api/v1/devices?bbox=a,b,c,d'],
      ['GET', '/api/v1/devices/x/series/water_level?from=99999999999999999999'],
      ['GET', '/api/v1/devices/x/series/water_level?from=1e400'],
      ['GET', '/api/v1/devices/x/series/water_level?step=999999999999999d'],
      ['GET', '/api/v1/devices/x/series/water_level?step=-5m'],
      ['GET', '/api/v1/devices/x/series/water_level?agg=%ff'],
      ['GET', '/api/v1/devices/x/series/water_level?aggregate=x&period=abc'],
      ['GET', '/api/v1/latest?aggregate=nope'],
      ['GET', '/api/v1/events?from=tomorrow&severity=loud'],
      ['GET', '/api/v1/events?to=-99999999999999999999'],
      ['GET', '/api/v1/admin/quarantine?limit=abc'],
      ['GET', '/api/v1/admin/quarantine?limit=99999999999'],
      ['GET', '/api/v1/admin/quarantine?from=%00'],
      ['GET', '/api/v1/feed?lastEventId=abc'],
      ['GET', '/api/v1/records/export?format=xml'],
      ['DELETE', '/api/v1/devices'],
      ['PATCH', '/api/v1/devices/x'],
      ['PUT', '/api/v1/devices/x', { body: '{not json' }],
      ['PUT', '/api/v1/devices/x', { body: '[1,2]' }],
      ['PUT', '/api/v1/devices/x', { body: '{"name":"a\\u0000b"}' }],
      ['PUT', '/api/v1/devices/x', { body: JSON.stringify({ id: 'y' }) }],
      ['PUT', '/api/v1/devices/x', { body: JSON.stringify({ edgeId: 'bad edge id!' }) }],
      ['PUT', '/api/v1/devices/x', { body: '{"location":{"longitude":1e400}}' }],
      ['POST', '/api/v1/devices/x', { body: 'x'.repeat(2 * 1024 * 1024) }],
      ['POST', '/api/v1/records/import', { body: Buffer.from([0, 1, 2, 255, 254]) }],
      ['POST', '/api/v1/records/import', { body: '设备编码\n\u0000' }],
      ['POST', '/api/v1/edges', { body: JSON.stringify({ id: '../etc' }) }],
      ['POST', '/api/v1/edges', { body: 'null' }],
      ['POST', '/api/v1/tokens', { body: JSON.stringify({ name: 5 }) }],
      ['POST', '/api/v1/tokens', { body: JSON.stringify({ name: 'x', bureau: 'Not A Bureau' }) }],
      ['DELETE', '/api/v1/admin/edges/nobody'],
      ['GET', '/api/v1/cameras/%ZZ/snapshot'],
      ['GET', '/api/v1/cameras/x/quality?from=abc'],
      ['GET', '/nowhere'],
      ['GET', '/api/v1/'],
    ];
    const statuses: string[] = [];
    for (const [method, path, init] of cases) {
      const res = await fetch(`${base}${path}`, { method, headers: auth, ...init });
      await res.arrayBuffer();
      statuses.push(`${res.status} ${method} ${path.slice(0, 60)}`);
      expect(res.status, `${method} ${path.slice(0, 80)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path.slice(0, 80)}`).toBeLessThan(500);
    }
    // Broken authorization headers too.
    for (const h of ['Bearer', 'Basic abc', 'Bearer a b', `Bearer ${'y'.repeat(10_000)}`]) {
      const res = await fetch(`${base}/api/v1/devices`, { headers: { authorization: h } });
      expect(res.status).toBe(401);
    }
    // And the server still works.
    expect((await fetch(`${base}/api/v1/devices`, { headers: auth })).status).toBe(200);
    expect(statuses.length).toBe(cases.length);
  });

  it('never blocks good batches behind a batch the database refuses', async () => {
    const e = await TestEdge.connect(c.mqttPort!, 'edge-poison', await c.addEdge('edge-poison'));
    // A record the plan accepts but that breaks a column limit would fail the commit; the NUL check quarantines
    // text with NUL before it reaches the database, so the batch is stored and acked instead.
    const b = readingsBatch('edge-poison', 1, 1, 3, { device: 'p-dev' });
    b.readings![1]!.text = 'a\u0000b';
    delete b.readings![1]!.number;
    const ack = await e.send(b);
    expect(ack.committed).toEqual([{ first: 1, last: 3 }]);
    expect(c.metrics.quarantined.get({ reason: 'bad_item' })).toBeGreaterThanOrEqual(1);
    const ok = await e.send(readingsBatch('edge-poison', 2, 4, 2, { device: 'p-dev' }));
    expect(ok.rejected).toBeFalsy();
    await e.close();
  });
});
