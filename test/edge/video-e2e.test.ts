// Camera end to end: RTSP stream (GStreamer) + ONVIF simulator -> edge (discover, register, probe, diagnose,
// snapshot) -> collector, which serves the camera's record, quality results and snapshot with bureau scoping.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startCollector, type Collector } from '../../collector/index.js';
import { silentLogger } from '../../core/log.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { wsDiscover } from '../../protocols/onvif/discovery.js';
import { startOnvifSimulator, type OnvifSimulator } from '../../demo/simulators/onvif-simulator.js';
import { startRtspServer, type RtspServer } from '../../demo/simulators/rtsp-server.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-video-e2e-'));
const CAMERA = '34012100001320000001';
let collector: Collector;
let rtsp: RtspServer;
let onvif: OnvifSimulator;
let agent: EdgeAgent;
let psToken: string;
let fireToken: string;

const api = (path: string, token: string) => fetch(`http://127.0.0.1:${collector.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  collector = await startCollector({ overrides: { dataDir: join(dir, 'collector'), httpPort: 0, mqttPort: 0 }, log: silentLogger });
  const password = await collector.addEdge('edge-cam');
  psToken = await collector.createToken({ name: 'ps', bureau: 'public_security' });
  fireToken = await collector.createToken({ name: 'fire', bureau: 'fire' });
  rtsp = await startRtspServer();
  onvif = await startOnvifSimulator({ rtspUrl: rtsp.url('normal'), username: 'admin', password: 'cam-pass', manufacturer: 'HIKVISION', model: 'DS-2DE4425IW-DE', firmware: 'V5.7.3', serial: 'DS2DE-SIM-0001' });
  const cfg = {
    edge: { id: 'edge-cam' },
    site: { id: 'cam-site', name: '村口', type: 'village' },
    uplink: { url: `mqtt://127.0.0.1:${collector.mqttPort}`, password },
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 50 },
    protocols: { onvif: { concurrency: 1, checkTimeoutS: 20, discoveryTargets: [`127.0.0.1:${onvif.discoveryPort}`] } },
    profileDirs: [join(process.cwd(), 'examples/demo/profiles')],
    devices: [],
  };
  writeFileSync(join(dir, 'edge.yaml'), YAML.stringify(cfg));
  agent = await startEdge({ configFile: join(dir, 'edge.yaml'), adminPort: 0, log: silentLogger });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await onvif?.stop();
  await rtsp?.stop();
  await collector?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('camera end to end', () => {
  it('discovers the camera, registers it live, and the collector gets its record, quality verdicts and snapshot', async () => {
    const found = await wsDiscover([`127.0.0.1:${onvif.discoveryPort}`], 2000);
    expect(found.map((f) => f.address)).toContain(onvif.xaddr);

    const cfg = YAML.parse(await (await import('node:fs/promises')).readFile(join(dir, 'edge.yaml'), 'utf8'));
    cfg.devices.push({
      id: CAMERA, name: '村口球机', kind: 'camera', profile: 'onvif-ip-camera-demo', sharingScope: ['public_security', 'water'],
      connection: { host: '127.0.0.1', port: onvif.port, username: 'admin', password: 'cam-pass' },
      camera: { cameraType: 'dome', fillLight: 'infrared', direction: 'SE' },
    });
    writeFileSync(join(dir, 'edge.yaml'), YAML.stringify(cfg));
    expect((await agent.reload()).added).toEqual([CAMERA]);

    const record = await until('camera record with ONVIF device information', async () => {
      const r = await api(`/api/v1/devices/${CAMERA}`, psToken);
      if (r.status !== 200) return undefined;
      const body = (await r.json()) as { manufacturer?: string; firmware?: string; camera?: { streamUris?: string[]; cameraType?: string } };
      return body.firmware === 'V5.7.3' ? body : undefined;
    });
    expect(record.manufacturer).toBe('HIKVISION');
    expect(record.camera?.cameraType).toBe('dome');
    expect(record.camera?.streamUris?.[0]).toMatch(/^rtsp:\/\/127\.0\.0\.1/);

    const quality = await until('quality results', async () => {
      const r = (await (await api(`/api/v1/cameras/${CAMERA}/quality`, psToken)).json()) as { results: { verdict: string; checks: { name: string; verdict: string }[] }[] };
      return r.results.length ? r.results : undefined;
    });
    expect(quality[0]!.verdict).toBe('ok');
    expect(quality[0]!.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['black', 'frozen', 'blur', 'too_dark']));

    const snap = await until('snapshot', async () => {
      const r = await api(`/api/v1/cameras/${CAMERA}/snapshot`, psToken);
      return r.status === 200 ? r : undefined;
    });
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await snap.arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    const fps = await until('video_fps series', async () => {
      const r = (await (await api(`/api/v1/latest?metric=video_fps`, psToken)).json()) as { latest: { device: string; value: number }[] };
      return r.latest.find((l) => l.device === CAMERA);
    });
    expect(fps.value).toBeGreaterThan(0);

    // The fire bureau was not given this camera: every camera endpoint answers 404 as if it did not exist.
    expect((await api(`/api/v1/cameras/${CAMERA}/snapshot`, fireToken)).status).toBe(404);
    expect((await api(`/api/v1/cameras/${CAMERA}/quality`, fireToken)).status).toBe(404);
    expect((await api(`/api/v1/devices/${CAMERA}`, fireToken)).status).toBe(404);
  }, 90_000);
});
