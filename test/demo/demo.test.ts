// The demo end to end: a collector and three simulated sites (village, street, water station) with every
// protocol simulator; readings from each protocol reach the collector and each bureau sees only its devices.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { renderTemplate, runDemo, type Demo } from '../../demo/run.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-demo-'));
let demo: Demo;
const said: string[] = [];

type Latest = { latest: { device: string; metric: string; value: number | string; quality: string }[] };
async function latest(token: string, metric?: string): Promise<Latest['latest']> {
  const res = await fetch(`http://127.0.0.1:${demo.collector.httpPort}/api/v1/latest${metric ? `?metric=${metric}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as Latest).latest;
}

beforeAll(async () => {
  // A one-minute rain cycle: the river crosses its warning line within the test's first half minute.
  demo = await runDemo({ sites: 3, httpPort: 0, mqttPort: 0, dataDir: dir, video: 'auto', rainCycleMs: 60_000, log: silentLogger, say: (l) => said.push(l) });
}, 90_000);

afterAll(async () => {
  await demo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('yiwang demo', () => {
  it('renders templates and refuses a placeholder without a value', () => {
    expect(renderTemplate('a: ${X}\n#CAMERA  - cam\n', { X: 1 }, false)).toBe('a: 1\n');
    expect(renderTemplate('a: ${X}\n#CAMERA  - cam', { X: 1 }, true)).toBe('a: 1\n  - cam');
    expect(() => renderTemplate('a: ${Y}', {}, false)).toThrow('no value for ${Y}');
  });

  it('gets readings from every protocol of every site to the collector', async () => {
    const want: [string, string][] = [
      ['VL01-WL-01', 'water_level'], // Modbus TCP
      ['VL01-SMOKE-01', 'smoke_alarm'], // MQTT plain
      ['ST02-AQ-01', 'pm2_5'], // MQTT JSON
      ['ST02-HYD-01', 'pipe_pressure'],
      ['ST02-AIR-STN', 'pm2_5'], // HJ 212 air station
      ['WS03-FLOW-01', 'flow_rate'], // Modbus float32, swapped words
      ['WS03-WQ-01', 'ph'], // OPC UA
      ['WS03-HYDRO', 'water_level'], // SL 651
      ['WS03-WQ-STN', 'cod'], // HJ 212 water station
    ];
    if (demo.video.enabled) want.push(['34012100001320000001', 'video_online']); // ONVIF + ffmpeg probe
    const deadline = Date.now() + 45_000;
    let missing = want;
    while (missing.length && Date.now() < deadline) {
      const rows = await latest(demo.tokens.admin!);
      missing = want.filter(([d, m]) => !rows.some((r) => r.device === d && r.metric === m));
      if (missing.length) await new Promise((r) => setTimeout(r, 500));
    }
    expect(missing).toEqual([]);
    const rows = await latest(demo.tokens.admin!, 'water_level');
    const level = rows.find((r) => r.device === 'VL01-WL-01')!;
    expect(level.value as number).toBeGreaterThan(2.5);
    expect(level.value as number).toBeLessThan(4.5);
  }, 60_000);

  it('shows alarms: the rain lifts the river past its warning line, the alarm is listed and its notification printed', async () => {
    const open = async () => {
      const res = await fetch(`http://127.0.0.1:${demo.collector.httpPort}/api/v1/alarms?state=open&kind=threshold`, { headers: { authorization: `Bearer ${demo.tokens.water}` } });
      return ((await res.json()) as { alarms: { device: string; metric: string; code: string }[] }).alarms;
    };
    const deadline = Date.now() + 50_000;
    while (!(await open()).some((a) => a.metric === 'water_level') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect((await open()).find((a) => a.metric === 'water_level')).toMatchObject({ code: expect.stringMatching(/^water_level\.(warning|alarm)$/) });
    while (!demo.notifications.received.some((m) => /水位超过(预警|报警)线/.test(m.title)) && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 200));
    const msg = demo.notifications.received.find((m) => /水位超过(预警|报警)线/.test(m.title))!;
    expect(msg).toMatchObject({ event: expect.stringMatching(/^alarm\.(raised|escalated)$/), signed: true });
    expect(said.some((l) => l.startsWith('  通知 · 【告警'))).toBe(true);
    // The operator token acknowledges; a viewer's token may not.
    const [a] = (await open()).filter((x) => x.metric === 'water_level') as unknown as { id: number }[];
    const ack = (t: string) => fetch(`http://127.0.0.1:${demo.collector.httpPort}/api/v1/alarms/${a!.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${t}` }, body: '{"comment":"演示确认"}' });
    expect((await ack(demo.tokens.water!)).status).toBe(403);
    expect((await ack(demo.tokens['water-operator']!)).status).toBe(200);
  }, 70_000);

  it('gives each bureau only the devices shared with it', async () => {
    const ids = async (bureau: string) => {
      const res = await fetch(`http://127.0.0.1:${demo.collector.httpPort}/api/v1/devices`, { headers: { authorization: `Bearer ${demo.tokens[bureau]}` } });
      return ((await res.json()) as { devices: { id: string }[] }).devices.map((d) => d.id);
    };
    const water = await ids('water');
    const env = await ids('environment');
    const fire = await ids('fire');
    expect(water).toContain('VL01-WL-01');
    expect(water).not.toContain('ST02-AQ-01');
    expect(env).toContain('ST02-AQ-01');
    expect(env).not.toContain('VL01-SMOKE-01');
    expect(fire).toEqual(expect.arrayContaining(['VL01-SMOKE-01', 'ST02-HYD-01']));
    expect(fire).not.toContain('WS03-WQ-01');
  });
});
