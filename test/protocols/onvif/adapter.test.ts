// The ONVIF adapter against the ONVIF simulator (real SOAP + WS-Discovery) pointing at real RTSP streams.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_DIR, loadProfileFile } from '../../../core/profiles.js';
import { silentLogger } from '../../../core/log.js';
import factory, { type OnvifAdapter } from '../../../protocols/onvif/index.js';
import { EventKind, Verdict } from '../../../schema/types.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { startOnvifSimulator, type OnvifSimulator } from '../../../demo/simulators/onvif-simulator.js';
import { startHungRtspServer, startRtspServer, type RtspServer } from '../../../demo/simulators/rtsp-server.js';

const profile = loadProfileFile(join(BUILTIN_PROFILE_DIR, 'onvif-ip-camera.yaml'));
// long intervals: the test drives checks itself after the initial ones
const testProfile = { ...profile, onvif: { ...profile.onvif, probeIntervalS: 3600, qualityIntervalS: 3600, sampleSeconds: 2 } };

let rtsp: RtspServer;
let sim: OnvifSimulator;
let blackSim: OnvifSimulator;
let hung: { url: string; stop(): Promise<void> };

beforeAll(async () => {
  rtsp = await startRtspServer();
  hung = await startHungRtspServer();
  sim = await startOnvifSimulator({
    rtspUrl: rtsp.url('normal'), username: 'admin', password: 's3cret', manufacturer: 'Hikvision', model: 'DS-2CD2T47',
    firmware: 'V5.7.3', serial: 'DS2CD-0001', clockOffsetMs: 120_000, ptz: true,
  });
  blackSim = await startOnvifSimulator({ rtspUrl: rtsp.url('black'), username: 'admin', password: 's3cret', serial: 'BLK-1' });
});

afterAll(async () => {
  await sim?.stop();
  await blackSim?.stop();
  await hung?.stop();
  await rtsp?.stop();
});

function adapterFor(settings: Record<string, unknown> = {}): OnvifAdapter {
  return factory({ dataDir: '/tmp', settings: { checkTimeoutS: 12, concurrency: 2, ...settings } }) as OnvifAdapter;
}

describe('onvif adapter', () => {
  it('connects, fills the record, probes, diagnoses and delivers a snapshot', async () => {
    const a = adapterFor();
    const sink = new RecordingSink();
    await a.start(sink, silentLogger);
    try {
      await a.addDevice({ id: 'cam1', profile: testProfile, connection: { host: '127.0.0.1', port: sim.port, username: 'admin', password: 's3cret' } });
      const rec = sink.recordLog.find((r) => r.deviceId === 'cam1')?.patch;
      expect(rec).toMatchObject({ manufacturer: 'Hikvision', model: 'DS-2CD2T47', firmware: 'V5.7.3', serialNumber: 'DS2CD-0001' });
      expect(rec?.camera).toMatchObject({
        hardwareId: 'HW-SIM-1', encoding: 'H264', resolution: '320x240', frameRate: 10, bitrateKbps: 400,
        streamUris: [rtsp.url('normal'), rtsp.url('normal')], snapshotUri: sim.snapshotUri, ptz: true,
      });
      expect(Math.abs((rec?.camera?.clockOffsetMs ?? 0) - 120_000)).toBeLessThan(1500);
      expect(sim.requests).toEqual(expect.arrayContaining(['GetSystemDateAndTime', 'GetServices', 'GetProfiles', 'GetVideoSources', 'GetStreamUri', 'GetSnapshotUri']));

      await sink.waitFor((s) => s.videoLog.length > 0 && s.snapshotLog.length > 0 && s.samplesOf('cam1', 'fps').length > 0, 'probe, quality and snapshot', 25_000);
      const fps = sink.samplesOf('cam1', 'fps')[0];
      expect(fps?.quality).toBe('good');
      expect(Number(fps?.value)).toBeGreaterThan(5);
      expect(sink.samplesOf('cam1', 'online')[0]?.value).toBe(true);
      expect(Number(sink.samplesOf('cam1', 'bitrate')[0]?.value)).toBeGreaterThan(50);
      expect(sink.samplesOf('cam1', 'decode_errors')[0]?.value).toBe(0);
      const vq = sink.videoLog[0];
      expect(vq?.verdict).toBe(Verdict.OK);
      expect(vq?.checks).toHaveLength(9);
      expect(vq?.cpuSeconds).toBeGreaterThan(0);
      console.log(`one quality check (2 s diagnosis + snapshot) cost ${vq?.cpuSeconds} CPU s`);
      const snap = sink.snapshotLog[0];
      expect(snap?.jpeg[0]).toBe(0xff);
      expect(snap?.jpeg[1]).toBe(0xd8);
      expect(snap?.width).toBe(320); // the simulator's 640x480 JPEG, scaled to a thumbnail
      expect(snap?.height).toBe(240);
      expect(snap?.jpeg.length).toBeLessThanOrEqual(32768);
      expect(sink.eventLog).toEqual([]); // all OK: nothing raised
      expect(sink.statusLog.every((s) => s.ok)).toBe(true);
    } finally {
      await a.stop();
    }
  });

  it('wrong password → auth_failure', async () => {
    const a = adapterFor();
    const sink = new RecordingSink();
    await a.start(sink, silentLogger);
    try {
      await a.addDevice({ id: 'cam2', profile: testProfile, connection: { host: '127.0.0.1', port: sim.port, username: 'admin', password: 'wrong' } });
      expect(sink.statusLog[0]).toMatchObject({ deviceId: 'cam2', ok: false, reason: 'auth_failure' });
      expect(sink.recordLog).toEqual([]);
      expect(sink.errorLog[0]).toMatchObject({ protocol: 'onvif', kind: 'auth_failure', deviceId: 'cam2' });
      expect(JSON.stringify(sink.errorLog)).not.toContain('wrong');
    } finally {
      await a.stop();
    }
  });

  it('ONVIF service down → unreachable', async () => {
    const a = adapterFor({ checkTimeoutS: 3 });
    const sink = new RecordingSink();
    await a.start(sink, silentLogger);
    try {
      await a.addDevice({ id: 'cam3', profile: testProfile, connection: { host: '127.0.0.1', port: 1, username: 'admin', password: 'x' } });
      expect(sink.statusLog[0]).toMatchObject({ ok: false, reason: 'unreachable' });
    } finally {
      await a.stop();
    }
  });

  it('black camera raises VIDEO_FAULT_RAISED once, code black', async () => {
    const a = adapterFor();
    const sink = new RecordingSink();
    await a.start(sink, silentLogger);
    try {
      await a.addDevice({ id: 'camB', profile: testProfile, connection: { host: '127.0.0.1', port: blackSim.port, username: 'admin', password: 's3cret' } });
      await sink.waitFor((s) => s.videoLog.length > 0, 'first diagnosis', 20_000);
      await a.checkQuality('camB'); // a second, unchanged verdict must not raise again
      const raised = sink.eventLog.filter((e) => e.kind === EventKind.VIDEO_FAULT_RAISED);
      expect(raised.map((e) => e.code)).toEqual(['black']);
      expect(sink.videoLog).toHaveLength(2);
    } finally {
      await a.stop();
    }
  });

  it('a hung stream times out without blocking another camera', async () => {
    // The property, not a race: the good camera's probe completes while the hung one is still waiting (its
    // verdict is not in yet), and the hung one ends by the check timeout. The timeout is long enough that even
    // a loaded 2-core machine finishes a 2-second probe well within it.
    const timeoutS = 10;
    const a = adapterFor({ checkTimeoutS: timeoutS, concurrency: 2 });
    const sink = new RecordingSink();
    await a.start(sink, silentLogger);
    try {
      await Promise.all([
        a.addDevice({ id: 'hung', profile: testProfile, connection: { host: '127.0.0.1', port: sim.port, username: 'admin', password: 's3cret', streamUri: hung.url } }),
        a.addDevice({ id: 'good', profile: testProfile, connection: { host: '127.0.0.1', port: sim.port, username: 'admin', password: 's3cret' } }),
      ]);
      const hungVerdict = (s: RecordingSink) => s.statusLog.some((r) => r.deviceId === 'hung' && r.reason === 'stream_unreachable');
      await sink.waitFor((s) => s.samplesOf('good', 'fps').length > 0, 'the good camera\'s probe', 30_000);
      expect(hungVerdict(sink)).toBe(false); // the good probe did not wait for the hung one
      await sink.waitFor(hungVerdict, 'hung stream verdict', 30_000);
      const verdict = sink.statusLog.find((r) => r.deviceId === 'hung' && r.reason === 'stream_unreachable');
      expect(verdict?.detail).toMatch(new RegExp(`(exceeded|no answer within) ${timeoutS * 1000} ms`)); // ended by the timeout
      expect(sink.samplesOf('hung', 'online')[0]?.value).toBe(false);
    } finally {
      await a.stop();
    }
  }, 60_000);

  it('discovers the simulator by WS-Discovery (unicast probe)', async () => {
    const a = adapterFor({ discoveryTargets: [`127.0.0.1:${sim.discoveryPort}`, `127.0.0.1:${blackSim.discoveryPort}`] });
    await a.start(new RecordingSink(), silentLogger);
    const found = await a.discover(800);
    const me = found.find((d) => d.address === sim.xaddr);
    expect(found).toHaveLength(2);
    expect(me).toMatchObject({ protocol: 'onvif', name: 'Hikvision', details: { hardware: 'DS-2CD2T47' } });
    expect((me?.details?.scopes as string[]).length).toBeGreaterThan(2);
    await a.stop();
  });

  it('rejects a bad connection with precise problems', () => {
    const a = adapterFor();
    expect(a.validateConnection({ port: 'x', path: 'onvif', extra: 1 }, profile)).toEqual([
      "connection.host: required, the camera's IP address or host name",
      'connection.port: must be an integer 1–65535 (the ONVIF HTTP port, default 80)',
      'connection.path: must start with / (default /onvif/device_service)',
      'connection.extra: unknown field',
    ]);
  });
});
