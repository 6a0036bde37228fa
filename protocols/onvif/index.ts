// ONVIF cameras: 一机一档 record facts from ONVIF, stream probes as time series, image-quality diagnosis
// with fault events, and size-capped snapshots — all checks through one CPU-aware scheduler.
import type { DeviceProfile } from '../../core/profiles.js';
import { EventKind, Severity, Verdict } from '../../schema/types.js';
import type {
  AdapterFactory, AdapterLogger, AdapterOptions, AdapterSink, DeviceBinding, DiscoveredDevice, HealthReason, PointSample,
  ProtocolAdapter,
} from '../adapter.js';
import {
  parseConnection, parseSettings, profileOptions, validateConnection, type OnvifConnection, type OnvifProfileOptions,
  type OnvifSettings,
} from './config.js';
import { cameraInfo, connectCamera, readCameraFacts, withCredentials, type CameraFacts, OnvifError } from './device.js';
import { diagnoseStream, type Diagnosis } from './diagnose.js';
import { wsDiscover } from './discovery.js';
import { probeStream, type ProbeResult } from './probe.js';
import { redactUrl } from './run-ffmpeg.js';
import { CheckScheduler } from './scheduler.js';
import { fetchSnapshot, thumbnail } from './snapshot.js';

export const PROTOCOL = 'onvif';

interface Camera {
  binding: DeviceBinding;
  conn: OnvifConnection;
  opts: OnvifProfileOptions;
  facts?: CameraFacts;
  timers: NodeJS.Timeout[];
  verdicts: Map<string, Verdict>;
  removed: boolean;
}

export type QualityCheckResult = Diagnosis & { snapshotBytes?: number; cpuSeconds: number };

const VERDICT_NAMES = ['OK', 'WARN', 'FAULT', 'UNKNOWN'];

export class OnvifAdapter implements ProtocolAdapter {
  readonly protocol = PROTOCOL;
  readonly settings: OnvifSettings;
  private readonly settingProblems: string[];
  private sink?: AdapterSink;
  private log?: AdapterLogger;
  private scheduler: CheckScheduler;
  private readonly cameras = new Map<string, Camera>();

  constructor(options: AdapterOptions) {
    const { settings, problems } = parseSettings(options.settings);
    this.settings = settings;
    this.settingProblems = problems;
    this.scheduler = this.newScheduler();
  }

  private newScheduler(): CheckScheduler {
    return new CheckScheduler({
      concurrency: this.settings.concurrency,
      timeoutMs: this.settings.checkTimeoutS * 1000,
      cpuBudget: this.settings.cpuBudget,
    });
  }

  validateConnection(connection: unknown, _profile: DeviceProfile): string[] {
    return validateConnection(connection);
  }

  async start(sink: AdapterSink, log: AdapterLogger): Promise<void> {
    this.sink = sink;
    this.log = log;
    for (const p of this.settingProblems) {
      sink.error(PROTOCOL, 'config', p);
      log.warn({ problem: p }, 'onvif settings');
    }
  }

  async stop(): Promise<void> {
    for (const id of [...this.cameras.keys()]) await this.removeDevice(id);
    this.scheduler.stop();
    this.scheduler = this.newScheduler();
  }

  async addDevice(device: DeviceBinding): Promise<void> {
    const problems = validateConnection(device.connection);
    if (problems.length) {
      this.sink?.error(PROTOCOL, 'config', problems.join('; '), device.id);
      throw new Error(`device ${device.id}: ${problems.join('; ')}`);
    }
    const cam: Camera = {
      binding: device,
      conn: parseConnection(device.connection),
      opts: profileOptions(device.profile),
      timers: [],
      verdicts: new Map(),
      removed: false,
    };
    this.cameras.set(device.id, cam);
    await this.refreshInfo(cam);
    const every = (s: number, f: () => void) => {
      const t = setInterval(f, s * 1000);
      t.unref();
      cam.timers.push(t);
    };
    every(this.settings.infoIntervalS, () => void this.refreshInfo(cam));
    every(cam.opts.probeIntervalS, () => void this.probe(device.id));
    every(cam.opts.qualityIntervalS, () => void this.checkQuality(device.id));
    void this.probe(device.id);
    void this.checkQuality(device.id);
  }

  async updateDevice(device: DeviceBinding): Promise<void> {
    await this.removeDevice(device.id);
    await this.addDevice(device);
  }

  async removeDevice(deviceId: string): Promise<void> {
    const cam = this.cameras.get(deviceId);
    if (!cam) return;
    cam.removed = true;
    for (const t of cam.timers) clearInterval(t);
    this.cameras.delete(deviceId);
  }

  async discover(timeoutMs: number): Promise<DiscoveredDevice[]> {
    return wsDiscover(this.settings.discoveryTargets, timeoutMs);
  }

  private fail(id: string, reason: HealthReason, detail: string): void {
    this.sink?.status({ deviceId: id, ok: false, reason, detail, ts: Date.now() });
    this.sink?.error(PROTOCOL, reason, detail, id);
    this.log?.warn({ deviceId: id, reason, detail }, 'camera check failed');
  }

  /** ONVIF session: device information, profiles, URIs → record patch and health. */
  async refreshInfo(cam: Camera): Promise<CameraFacts | undefined> {
    const id = cam.binding.id;
    const started = Date.now();
    try {
      const onvifCam = await connectCamera(cam.conn, this.settings.checkTimeoutS * 1000);
      const facts = await readCameraFacts(onvifCam, cam.opts.streamProfile);
      if (cam.removed) return undefined;
      cam.facts = facts;
      this.sink?.record?.(id, {
        manufacturer: facts.manufacturer,
        model: facts.model,
        firmware: facts.firmware,
        serialNumber: facts.serialNumber,
        camera: cameraInfo(facts),
      });
      this.sink?.status({ deviceId: id, ok: true, latencyMs: Date.now() - started, ts: Date.now() });
      return facts;
    } catch (err) {
      const e = err instanceof OnvifError ? err : new OnvifError('exception', (err as Error).message);
      if (!cam.removed) this.fail(id, e.reason, e.message);
      return undefined;
    }
  }

  private streamUrl(cam: Camera): string | undefined {
    const uri = cam.conn.streamUri ?? cam.facts?.streamUri;
    return uri ? withCredentials(uri, cam.conn) : undefined;
  }

  /** Stream probe → video_* samples and stream health. Resolves with the probe (undefined if skipped). */
  async probe(deviceId: string): Promise<ProbeResult | undefined> {
    const cam = this.cameras.get(deviceId);
    if (!cam) return undefined;
    const url = this.streamUrl(cam);
    if (!url) return undefined; // ONVIF has not told us the stream yet; health already says why
    const timeoutMs = this.settings.checkTimeoutS * 1000;
    let r: ProbeResult | undefined;
    try {
      r = await this.scheduler.submit({
        key: `${deviceId}:probe`,
        device: deviceId,
        run: (signal) => probeStream(url, { seconds: this.settings.probeSeconds, timeoutMs, ffmpegPath: this.settings.ffmpegPath, signal }),
      });
    } catch (err) {
      r = { reachable: false, frames: 0, decodeErrors: 0, durationS: 0, cpuSeconds: 0, timedOut: true, error: (err as Error).message };
    }
    if (!r || cam.removed) return r;
    this.sink?.samples(probeSamples(cam.binding.profile, deviceId, r));
    if (!r.reachable) this.fail(deviceId, 'stream_unreachable', r.error ?? 'stream did not open');
    else if (r.frames === 0) this.fail(deviceId, 'no_frames', r.error ?? 'stream opened but no frames arrived');
    else this.sink?.status({ deviceId, ok: true, latencyMs: r.firstFrameMs, ts: Date.now() });
    this.log?.debug({ deviceId, fps: r.fps, kbps: r.bitrateKbps, cpuSeconds: r.cpuSeconds, stream: redactUrl(url) }, 'stream probe');
    return r;
  }

  /** Diagnosis + snapshot as one scheduled check. */
  async checkQuality(deviceId: string): Promise<QualityCheckResult | undefined> {
    const cam = this.cameras.get(deviceId);
    if (!cam) return undefined;
    const url = this.streamUrl(cam);
    if (!url) return undefined;
    const timeoutMs = this.settings.checkTimeoutS * 1000;
    const ffmpegPath = this.settings.ffmpegPath;
    let r: QualityCheckResult | undefined;
    let snap: { jpeg: Buffer; width?: number; height?: number } | undefined;
    try {
      r = await this.scheduler.submit({
        key: `${deviceId}:quality`,
        device: deviceId,
        run: async (signal) => {
          const d = await diagnoseStream(url, { sampleSeconds: cam.opts.sampleSeconds, timeoutMs, ffmpegPath, signal });
          let cpu = d.cpuSeconds;
          if (!signal.aborted && (d.frames > 0 || cam.facts?.snapshotUri)) {
            try {
              const source = cam.facts?.snapshotUri
                ? await fetchSnapshot(cam.facts.snapshotUri, cam.conn.username, cam.conn.password, timeoutMs)
                : url;
              const t = await thumbnail(source, { maxBytes: cam.opts.snapshotMaxBytes, timeoutMs, ffmpegPath, signal });
              cpu += t.cpuSeconds;
              snap = t;
            } catch (err) {
              this.sink?.error(PROTOCOL, 'snapshot', (err as Error).message, deviceId);
            }
          }
          return { ...d, cpuSeconds: Math.round(cpu * 1000) / 1000, snapshotBytes: snap?.jpeg.length };
        },
      });
    } catch (err) {
      this.fail(deviceId, 'timeout', (err as Error).message);
      return undefined;
    }
    if (!r || cam.removed) return r;
    const ts = Date.now();
    this.sink?.videoQuality?.({ deviceId, ts, verdict: r.verdict, checks: r.checks, sampleSeconds: r.sampleSeconds, cpuSeconds: r.cpuSeconds });
    this.emitFaultChanges(cam, r, ts);
    if (snap) this.sink?.snapshot?.({ deviceId, ts, jpeg: snap.jpeg, width: snap.width, height: snap.height });
    if (r.frames === 0) this.fail(deviceId, r.failure && /refused|not found|40\d|unreachable|no answer|timed out|no frames within/i.test(r.failure) ? 'stream_unreachable' : 'no_frames', r.failure ?? 'no frames');
    this.log?.info({ deviceId, verdict: VERDICT_NAMES[r.verdict], cpuSeconds: r.cpuSeconds }, 'video quality');
    return r;
  }

  /** VIDEO_FAULT_RAISED when a check turns WARN/FAULT (or escalates), CLEARED when it returns to OK. */
  private emitFaultChanges(cam: Camera, d: Diagnosis, ts: number): void {
    const deviceId = cam.binding.id;
    for (const c of d.checks) {
      if (c.verdict === Verdict.UNKNOWN_VERDICT) continue; // masked or unmeasurable: keep the last state
      const prev = cam.verdicts.get(c.name) ?? Verdict.OK;
      cam.verdicts.set(c.name, c.verdict);
      if (c.verdict === prev) continue;
      const raised = c.verdict !== Verdict.OK;
      this.sink?.event?.({
        deviceId,
        kind: raised ? EventKind.VIDEO_FAULT_RAISED : EventKind.VIDEO_FAULT_CLEARED,
        severity: c.verdict === Verdict.FAULT ? Severity.MAJOR : c.verdict === Verdict.WARN ? Severity.WARNING : Severity.INFO,
        code: c.name,
        value: c.score,
        message: `${c.name} ${raised ? VERDICT_NAMES[c.verdict] : 'cleared'}: ${c.detail ?? ''}`.trim(),
        ts,
      });
    }
  }
}

/** Probe → samples of the profile's points, matched by metric (onvif points carry no protocol block). */
export function probeSamples(profile: DeviceProfile, deviceId: string, r: ProbeResult): PointSample[] {
  const ts = Date.now();
  const value: Record<string, number | boolean | undefined> = {
    video_online: r.reachable && r.frames > 0,
    video_fps: r.fps,
    video_bitrate_kbps: r.bitrateKbps,
    video_first_frame_ms: r.firstFrameMs,
    video_decode_errors: r.reachable ? r.decodeErrors : undefined,
  };
  const out: PointSample[] = [];
  for (const p of profile.points) {
    if (!(p.metric in value)) continue;
    const v = value[p.metric];
    out.push(
      v === undefined
        ? { deviceId, point: p.name, value: null, ts, quality: 'bad', reason: r.error ?? 'no frames' }
        : { deviceId, point: p.name, value: v, ts, quality: 'good', periodS: r.durationS || undefined },
    );
  }
  return out;
}

const factory: AdapterFactory = (options) => new OnvifAdapter(options);
export default factory;
export { wsDiscover } from './discovery.js';
export { diagnoseStream } from './diagnose.js';
export { probeStream } from './probe.js';
