// Image-quality diagnosis and stream probe against REAL RTSP streams (GStreamer test patterns on 127.0.0.1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseStream, type Diagnosis } from '../../../protocols/onvif/diagnose.js';
import { probeStream } from '../../../protocols/onvif/probe.js';
import { Verdict } from '../../../schema/types.js';
import { startRtspServer, unreachableRtspUrl, type RtspMount, type RtspServer } from '../../../demo/simulators/rtsp-server.js';

let rtsp: RtspServer;
const results = new Map<string, Diagnosis>();
const MOUNTS: RtspMount[] = ['normal', 'black', 'frozen', 'blur', 'dark', 'bright', 'cast', 'snow'];

const verdictOf = (d: Diagnosis | undefined, name: string) => d?.checks.find((c) => c.name === name)?.verdict;
const faults = (d: Diagnosis | undefined) =>
  (d?.checks ?? []).filter((c) => c.verdict === Verdict.FAULT || c.verdict === Verdict.WARN).map((c) => c.name).sort();

beforeAll(async () => {
  rtsp = await startRtspServer();
  // all streams diagnosed at once: each run is mostly waiting on the live stream, not CPU
  const urls = [...MOUNTS.map((m) => [m, rtsp.url(m)] as const), ['unreachable', await unreachableRtspUrl()] as const];
  await Promise.all(
    urls.map(async ([name, url]) => results.set(name, await diagnoseStream(url, { sampleSeconds: 2.5, timeoutMs: 15_000 }))),
  );
});

afterAll(async () => {
  await rtsp?.stop();
});

describe('image-quality diagnosis on real RTSP streams', () => {
  it('normal moving picture: every check OK', () => {
    const d = results.get('normal');
    expect(d?.frames).toBeGreaterThan(10);
    expect(faults(d)).toEqual([]);
    expect(d?.verdict).toBe(Verdict.OK);
    expect(d?.checks.map((c) => c.name)).toEqual([
      'signal_loss', 'black', 'frozen', 'blur', 'too_dark', 'too_bright', 'color_cast', 'noise', 'occlusion',
    ]);
  });

  it.each([
    ['black', ['black']],
    ['frozen', ['frozen']],
    ['blur', ['blur']],
    ['dark', ['too_dark']],
    ['bright', ['too_bright']],
    ['cast', ['color_cast']],
    ['snow', ['noise']],
  ])('%s stream: exactly %j fault', (mount, expected) => {
    const d = results.get(mount);
    expect(faults(d)).toEqual(expected);
    expect(verdictOf(d, expected[0] as string)).toBe(Verdict.FAULT);
    expect(d?.verdict).toBe(Verdict.FAULT);
  });

  it('black masks the checks a black picture would only repeat', () => {
    const d = results.get('black');
    expect(verdictOf(d, 'frozen')).toBe(Verdict.UNKNOWN_VERDICT);
    expect(d?.checks.find((c) => c.name === 'frozen')?.detail).toBe('masked by black');
  });

  it('unreachable stream: signal loss, others unknown', () => {
    const d = results.get('unreachable');
    expect(d?.frames).toBe(0);
    expect(verdictOf(d, 'signal_loss')).toBe(Verdict.FAULT);
    expect(d?.failure).toMatch(/refused|error/i);
    expect(d?.checks.filter((c) => c.verdict === Verdict.UNKNOWN_VERDICT)).toHaveLength(8);
  });

  it('reports the CPU seconds of a check', () => {
    const d = results.get('normal');
    expect(d?.cpuSeconds).toBeGreaterThan(0);
    expect(d?.cpuSeconds).toBeLessThan(3);
    console.log(`diagnosis CPU seconds per 2.5 s sample (320x240@10fps): ${d?.cpuSeconds}`);
  });
});

describe('stream probe', () => {
  it('measures codec, resolution, fps, bitrate, first frame', async () => {
    const r = await probeStream(rtsp.url('normal'), { seconds: 2, timeoutMs: 10_000 });
    expect(r.reachable).toBe(true);
    expect(r.codec).toBe('h264');
    expect([r.width, r.height]).toEqual([320, 240]);
    expect(r.nominalFps).toBe(10);
    expect(r.fps).toBeGreaterThan(7);
    expect(r.fps).toBeLessThan(13);
    expect(r.bitrateKbps).toBeGreaterThan(50);
    expect(r.firstFrameMs).toBeGreaterThan(0);
    expect(r.decodeErrors).toBe(0);
  });

  it('unreachable stream: not reachable, with a reason', async () => {
    const r = await probeStream(await unreachableRtspUrl(), { seconds: 2, timeoutMs: 5000 });
    expect(r.reachable).toBe(false);
    expect(r.frames).toBe(0);
    expect(r.error).toMatch(/refused/i);
  });
});
