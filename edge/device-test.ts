// `yiwang edge device test ID` (and every device in `edge doctor`), like `telegraf --test`: one real exchange
// through the device's profile, shown raw and normalized with units, quality and plausibility.
//
// Polled devices (Modbus, OPC UA, ONVIF) are read by the real adapter, started in this process with a sink that
// captures what it delivers, until every point has a value or the device failed: a Modbus read of each block,
// an OPC UA read (first notification) of each node, ONVIF GetDeviceInformation and a stream probe. Push devices
// (MQTT, HJ 212, SL 651) can only show what they last sent: the running agent keeps it (admin API); when no
// agent runs, the adapter itself listens (or subscribes to the site broker) for one message.
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterSink, DeviceStatusReport, PointSample, PointValue, ProtocolAdapter } from '../protocols/adapter.js';
import { createLogger, type Logger } from '../core/log.js';
import { metricOf, type DeviceProfile, type PointDef } from '../core/profiles.js';
import type { DeviceRecord } from '../schema/types.js';
import { QUALITY_NAMES, readingValue } from '../schema/types.js';
import { AgentNotRunning, adminCall } from './admin-client.js';
import { loadEffectiveConfig } from './central-config.js';
import { profilesFor, resolvePaths, type EdgeConfig } from './config.js';
import { unstartedAdapter, validateDevices, type ConfiguredDevice } from './devices.js';
import type { LastMessage } from './last-message.js';
import { Normalizer } from './normalize.js';

export interface PointResult {
  point: string;
  metric: string;
  label: string;            // "conductivity (电导率)"
  mapping: string;          // where the profile reads it: "holding 0 uint16", "ns=1;s=WQ.pH", "w01018"
  raw?: PointValue | null;  // as the device sent it
  sourceUnit: string;       // the unit the profile says the device sends
  value?: number | boolean | string;
  unit: string;             // canonical unit
  quality: 'good' | 'uncertain' | 'bad' | 'missing';
  reason?: string;
}

export interface DeviceTestResult {
  deviceId: string;
  name?: string;
  profile: string;
  protocol: string;
  address: string;
  /** exchange: this process talked to the device; agent: the running agent's last message; none: no data. */
  source: 'exchange' | 'agent' | 'none';
  ok: boolean;
  /** What happened, in plain words ("read 2 blocks in 12 ms", "last message 4 s ago"). */
  lines: string[];
  points: PointResult[];
}

/** What the running agent knows about a push device (GET /api/v1/devices/{id}/last-message). */
export interface AgentLastMessage {
  startedAt: number;
  message: LastMessage | null;
}

export interface DeviceTestOptions {
  cfg: EdgeConfig;
  bufferDir: string;
  device: ConfiguredDevice;
  /** Overall limit; default per protocol (an ONVIF probe takes seconds, a first OPC UA connect creates a certificate). */
  timeoutMs?: number;
  /** The running agent's view: undefined when no agent runs (then push devices are listened for here). */
  agent?: { lastMessage(id: string): Promise<AgentLastMessage | undefined> };
  log: Logger;
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS: Record<string, number> = { modbus: 5_000, opcua: 15_000, onvif: 30_000, mqtt: 15_000, hj212: 15_000, sl651: 15_000 };
const PUSH = new Set(['mqtt', 'hj212', 'sl651']);

const fmt = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 6 }) : String(v));

function mappingOf(pt: PointDef, profile: DeviceProfile): string {
  if (pt.modbus) return `${pt.modbus.area} ${pt.modbus.address} ${pt.modbus.type}${pt.modbus.bit !== undefined ? ` bit ${pt.modbus.bit}` : ''}`;
  if (pt.opcua) return pt.opcua.nodeId;
  if (pt.mqtt) return pt.mqtt.path ?? pt.mqtt.topic ?? profile.mqtt?.topic ?? '';
  if (pt.hj212) return pt.hj212.factor;
  if (pt.sl651) return `element ${pt.sl651.element}`;
  return pt.metric; // onvif points name the video_* metric the probe measures
}

/** Raw samples → one row per profile point: raw value, normalized value and unit, quality, plausibility. */
export function describeSamples(deviceId: string, profile: DeviceProfile, samples: PointSample[]): PointResult[] {
  const normalizer = new Normalizer();
  normalizer.setDevice(deviceId, profile);
  const latest = new Map<string, PointSample>();
  for (const s of samples) if (s.deviceId === deviceId) latest.set(s.point, s);
  return profile.points.map((pt) => {
    const metric = metricOf(profile, pt.metric)!; // the profile was validated against the catalog
    const scaled = (pt.scale ?? 1) !== 1 || (pt.offset ?? 0) !== 0;
    const row: PointResult = {
      point: pt.name,
      metric: pt.metric,
      label: metric.category === 'custom' || metric.zh === metric.en ? `${metric.en}` : `${metric.en} (${metric.zh})`,
      mapping: mappingOf(pt, profile),
      sourceUnit: `${scaled ? `(× ${pt.scale ?? 1}${pt.offset ? ` + ${pt.offset}` : ''}) ` : ''}${pt.unit ?? metric.unit}`,
      unit: metric.unit,
      quality: 'missing',
    };
    const s = latest.get(pt.name);
    if (!s) return row;
    row.raw = s.value;
    const { readings, problems } = normalizer.normalize([s]);
    const r = readings[0];
    if (!r) {
      row.quality = 'bad';
      row.reason = problems[0]?.reason;
      return row;
    }
    row.value = readingValue({ ...r, seq: 0 });
    row.quality = QUALITY_NAMES[r.quality ?? 0]!;
    row.reason = r.qualityReason;
    const range = metric.range;
    if (typeof row.value === 'number' && range && (row.value < range[0] || row.value > range[1])) {
      row.reason =
        `${fmt(row.value)} ${metric.unit} is outside ${metric.en.toLowerCase()}'s plausible range ${fmt(range[0])}–${fmt(range[1])} ${metric.unit}: ` +
        `check the profile's source unit (${pt.unit ?? metric.unit}${scaled ? `, scale ${pt.scale ?? 1}` : ''}) against what the device sends`;
    }
    return row;
  });
}

/** An AdapterSink that keeps what the adapter delivers for one device and tells when the exchange is over. */
class CaptureSink implements AdapterSink {
  readonly samplesIn: PointSample[] = [];
  readonly statusIn: DeviceStatusReport[] = [];
  readonly problems: string[] = [];
  record_?: Partial<DeviceRecord>;
  private wake?: () => void;
  /** Once the exchange is over, what stopping the adapter reports (aborted checks) is not part of it. */
  private closed = false;

  constructor(
    private readonly deviceId: string,
    private readonly points: string[],
  ) {}

  close(): void {
    this.closed = true;
  }

  samples(samples: PointSample[]): void {
    if (this.closed) return;
    this.samplesIn.push(...samples.filter((s) => s.deviceId === this.deviceId));
    this.wake?.();
  }
  status(report: DeviceStatusReport): void {
    if (this.closed) return;
    if (report.deviceId === this.deviceId) this.statusIn.push(report);
    this.wake?.();
  }
  error(_protocol: string, kind: string, detail: string, deviceId?: string): void {
    if (this.closed) return;
    if (!deviceId || deviceId === this.deviceId) this.problems.push(`${kind}: ${detail}`);
  }
  record(deviceId: string, patch: Partial<DeviceRecord>): void {
    if (deviceId === this.deviceId) this.record_ = { ...this.record_, ...patch };
  }
  event(): void {}
  videoQuality(): void {}
  snapshot(): void {}

  /** Every point has a sample, or the device reported a failure. */
  done(): boolean {
    const have = new Set(this.samplesIn.map((s) => s.point));
    return this.points.every((p) => have.has(p)) || this.statusIn.some((r) => !r.ok);
  }

  until(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.done() || Date.now() >= deadline) {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        }
      };
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()));
      this.wake = check;
      check();
    });
  }
}

/** A data dir for the test's adapter: the agent's (OPC UA keeps its trusted PKI there) when we may write it. */
function adapterDataDir(bufferDir: string, protocol: string): { dir: string; cleanup(): void } {
  if (protocol === 'opcua') {
    try {
      accessSync(join(bufferDir, 'protocols', protocol), constants.W_OK);
      return { dir: bufferDir, cleanup() {} };
    } catch {
      /* no agent data yet, or not ours to write: use a scratch dir */
    }
  }
  const dir = mkdtempSync(join(tmpdir(), `yiwang-test-${protocol}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the device's adapter here until one exchange is complete (see the file comment). */
async function exchange(o: DeviceTestOptions, timeoutMs: number): Promise<{ sink: CaptureSink; ms: number; startError?: string }> {
  const { device, cfg } = o;
  const protocol = device.profile.protocol;
  const sink = new CaptureSink(device.record.id, device.profile.points.map((p) => p.name));
  const data = adapterDataDir(o.bufferDir, protocol);
  const started = Date.now();
  let adapter: ProtocolAdapter | undefined;
  try {
    adapter = await unstartedAdapter(protocol, data.dir, cfg.protocols);
    await adapter.start(sink, o.log.child({ protocol, test: true }));
    await adapter.addDevice({ id: device.record.id, profile: device.profile, connection: device.config.connection, record: device.record });
    await sink.until(started + timeoutMs);
    sink.close();
    return { sink, ms: Date.now() - started };
  } catch (err) {
    sink.close();
    return { sink, ms: Date.now() - started, startError: (err as Error).message };
  } finally {
    await adapter?.stop().catch(() => undefined);
    data.cleanup();
  }
}

function exchangeLines(protocol: string, sink: CaptureSink, ms: number, timeoutMs: number): string[] {
  const lines: string[] = [];
  const fail = sink.statusIn.find((r) => !r.ok);
  const ok = sink.statusIn.find((r) => r.ok);
  const rec = sink.record_;
  if (protocol === 'onvif' && rec) {
    lines.push(`GetDeviceInformation: ${[rec.manufacturer, rec.model].filter(Boolean).join(' ') || '?'}, firmware ${rec.firmware ?? '?'}, serial ${rec.serialNumber ?? '?'}`);
    const cam = rec.camera;
    if (cam?.streamUris?.length) lines.push(`stream: ${cam.streamUris[0]}${cam.resolution ? ` (${cam.encoding ?? ''} ${cam.resolution})` : ''}`);
  }
  if (fail) lines.push(`FAILED: ${fail.reason ?? 'error'}${fail.detail ? `: ${fail.detail}` : ''}`);
  else if (ok || sink.samplesIn.length) lines.push(`exchange completed in ${ms} ms${ok?.latencyMs !== undefined ? ` (device latency ${ok.latencyMs} ms)` : ''}`);
  else lines.push(`no answer within ${timeoutMs} ms`);
  for (const p of [...new Set(sink.problems)].slice(0, 5)) lines.push(`adapter: ${p}`);
  return lines;
}

const ageText = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

export async function testDevice(o: DeviceTestOptions): Promise<DeviceTestResult> {
  const { device } = o;
  const now = o.now ?? Date.now;
  const protocol = device.profile.protocol;
  const id = device.record.id;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS[protocol] ?? 10_000;
  const base = { deviceId: id, name: device.record.name, profile: device.profile.id, protocol, address: device.record.address ?? '' };
  const finish = (source: DeviceTestResult['source'], lines: string[], points: PointResult[], failed = false): DeviceTestResult => ({
    ...base,
    source,
    lines,
    points,
    ok: !failed && points.length > 0 && points.every((p) => p.quality === 'good'),
  });

  // A serial line is held by the running agent: show what the agent last read instead of fighting for the port.
  const serialHeld = protocol === 'modbus' && typeof device.config.connection.serialPort === 'string' && o.agent;
  if (PUSH.has(protocol) || serialHeld) {
    const known = await o.agent?.lastMessage(id);
    if (o.agent && known === undefined) {
      return finish('none', ['the running agent does not have this device yet: apply the config with `yiwang edge reload`'], [], true);
    }
    if (known) {
      const why = serialHeld ? `the agent holds ${String(device.config.connection.serialPort)}; its last poll` : 'last message';
      if (!known.message) {
        return finish('none', [`no message from this device since the agent started ${ageText(now() - known.startedAt)} ago${expectedEvery(device.profile)}`], describeSamples(id, device.profile, []), true);
      }
      const age = now() - known.message.receivedAt;
      const lines = [`${why} ${ageText(age)} ago (${new Date(known.message.receivedAt).toISOString()})`];
      const stale = device.profile.health?.expectedIntervalS && age > device.profile.health.expectedIntervalS * 1000 * (device.profile.health.offlineAfterMissed ?? 3);
      if (stale) lines.push(`that is older than ${device.profile.health!.offlineAfterMissed ?? 3} reporting intervals: the device has stopped sending`);
      return finish('agent', lines, describeSamples(id, device.profile, known.message.samples), Boolean(stale));
    }
    // No agent: the adapter listens here for one message.
    const { sink, ms, startError } = await exchange(o, timeoutMs);
    if (startError) return finish('none', [`cannot listen for this device: ${startError}`], [], true);
    const lines = sink.samplesIn.length
      ? [`the agent is not running; received a message after ${ms} ms`]
      : [`the agent is not running and no message arrived within ${timeoutMs} ms${expectedEvery(device.profile)}`];
    return finish(sink.samplesIn.length ? 'exchange' : 'none', lines, describeSamples(id, device.profile, sink.samplesIn), !sink.samplesIn.length);
  }

  const { sink, ms, startError } = await exchange(o, timeoutMs);
  if (startError) return finish('none', [`FAILED: ${startError}`], describeSamples(id, device.profile, []), true);
  const failed = sink.statusIn.some((r) => !r.ok) || !sink.samplesIn.length;
  return finish('exchange', exchangeLines(protocol, sink, ms, timeoutMs), describeSamples(id, device.profile, sink.samplesIn), failed);
}

function expectedEvery(p: DeviceProfile): string {
  return p.health?.expectedIntervalS ? ` (it should report every ${p.health.expectedIntervalS} s)` : '';
}

/** Terminal columns of a string: CJK characters take two. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

/** Plain-text report: a header, what happened, one line per point. */
export function formatTestResult(r: DeviceTestResult): string {
  const head = `device ${r.deviceId}${r.name ? ` (${r.name})` : ''} · profile ${r.profile} · ${r.protocol}${r.address ? ` ${r.address}` : ''}`;
  const rows = r.points.map((p) => {
    const raw = p.raw === undefined ? '-' : p.raw === null ? '(no value)' : `${fmt(p.raw)} ${p.sourceUnit}`;
    const value = p.value === undefined ? '-' : `${fmt(p.value)} ${p.unit === 'bool' || p.unit === 'count' ? '' : p.unit}`.trim();
    const q = p.quality === 'missing' ? 'MISSING' : p.quality === 'good' ? 'good' : p.quality.toUpperCase();
    return [p.point, p.label, p.mapping, raw, value, `${q}${p.reason ? `: ${p.reason}` : ''}`];
  });
  const header = ['point', 'metric', 'read from', 'raw (source unit)', 'normalized', 'quality'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => displayWidth(row[i]!))));
  const pad = (c: string, w: number) => c + ' '.repeat(Math.max(0, w - displayWidth(c)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ')}`.trimEnd();
  const bad = r.points.filter((p) => p.quality !== 'good').length;
  const verdict = r.ok ? `OK: ${r.points.length} point(s) read, all good` : r.points.length ? `PROBLEM: ${bad} of ${r.points.length} point(s) not good` : 'PROBLEM: no data';
  return `${head}\n${r.lines.map((l) => `  ${l}`).join('\n')}\n${rows.length ? `${line(header)}\n${rows.map(line).join('\n')}\n` : ''}  ${verdict}\n`;
}

/**
 * Tests the config's enabled devices (or only `only`) one after the other, asking the running agent (if any)
 * for push devices' last messages. Throws ConfigError when a tested device's config is invalid.
 */
export async function testConfiguredDevices(file: string, o: { only?: string; skip?: Set<string>; timeoutMs?: number; log?: Logger } = {}): Promise<DeviceTestResult[]> {
  const cfg = loadEffectiveConfig(file);
  const { bufferDir } = resolvePaths(cfg, file);
  const wanted = cfg.devices.filter((d) => (!o.only || d.id === o.only) && !o.skip?.has(d.id));
  const disabled = wanted.filter((d) => d.enabled === false);
  const enabled = wanted.filter((d) => d.enabled !== false);
  const results: DeviceTestResult[] = disabled.map((d) => ({
    deviceId: d.id, name: d.name, profile: d.profile, protocol: '', address: '', source: 'none', ok: true,
    lines: ['disabled in the config (enabled: false): not tested'], points: [],
  }));
  if (!enabled.length) return results;
  const configured = await validateDevices({ ...cfg, devices: enabled }, file, profilesFor(cfg, file), (p) => unstartedAdapter(p, bufferDir, cfg.protocols));
  let agent: DeviceTestOptions['agent'];
  try {
    await adminCall(file, 'GET', '/api/v1/status');
    agent = {
      lastMessage: async (id) => {
        try {
          return (await adminCall(file, 'GET', `/api/v1/devices/${encodeURIComponent(id)}/last-message`)) as AgentLastMessage;
        } catch (err) {
          if ((err as { status?: number }).status === 404) return undefined;
          throw err;
        }
      },
    };
  } catch (err) {
    if (!(err instanceof AgentNotRunning)) throw err;
  }
  const log = o.log ?? createLogger('yiwang-cli', process.env.YIWANG_LOG_LEVEL ?? 'warn', { fd: 2 });
  for (const device of configured.values()) {
    results.push(await testDevice({ cfg, bufferDir, device, timeoutMs: o.timeoutMs, agent, log }));
  }
  return results;
}
