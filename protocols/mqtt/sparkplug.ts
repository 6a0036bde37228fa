// Sparkplug B host side: payload decoding (protobufjs over sparkplug_b.proto), birth certificates
// (metric name <-> alias), per-edge-node seq 0..255 with gap detection, death certificates.
// Pure state machine: it returns what it observed and index.ts hands that to the sink.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import type { PointDef } from '../../core/profiles.js';
import { EventKind, Severity, type SensingEvent } from '../../schema/types.js';
import type { DeviceStatusReport, PointSample, PointValue } from '../adapter.js';
import { coerce, expectedTypeOf, toEpochMs } from './values.js';

export const SPARKPLUG_NAMESPACE = 'spBv1.0';
export const PROTO_PATH = fileURLToPath(new URL('./sparkplug_b.proto', import.meta.url));
const root = protobuf.loadSync(PROTO_PATH);
const PayloadType = root.lookupType('org.eclipse.tahu.protobuf.Payload');

export const DataType = {
  Int8: 1, Int16: 2, Int32: 3, Int64: 4, UInt8: 5, UInt16: 6, UInt32: 7, UInt64: 8, Float: 9, Double: 10,
  Boolean: 11, String: 12, DateTime: 13, Text: 14, UUID: 15, DataSet: 16, Bytes: 17, File: 18, Template: 19,
} as const;
export type DataTypeName = keyof typeof DataType;
const TYPE_NAME = new Map<number, string>(Object.entries(DataType).map(([k, v]) => [v, k]));
const SIGNED_BITS: Record<number, number> = { 1: 8, 2: 16, 3: 32, 4: 64 };
const UNSIGNED_MASK: Record<number, number> = { 5: 0xff, 6: 0xffff };

export class SparkplugError extends Error {}

// ---------------------------------------------------------------------------------------------- decoding

/** A decoded metric; 64-bit fields are exact BigInts (converted deliberately below, never silently rounded). */
export interface SpMetric {
  name?: string;
  alias?: bigint;
  timestamp?: bigint;
  datatype?: number;
  isNull?: boolean;
  isHistorical?: boolean;
  intValue?: number;
  longValue?: bigint;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
  /** Name of a set value field this module does not turn into a point value (bytes, dataset, template, ...). */
  otherValue?: string;
}

export interface SpPayload {
  timestamp?: bigint;
  seq?: bigint;
  metrics: SpMetric[];
}

// protobufjs turns uint64 into Long objects or (when Long is switched off, as schema/codec.ts does
// process-wide) into doubles that lose bits. Reading them as BigInt keeps Int64 two's complement exact.
function readUint64Exact(this: { buf: Uint8Array; pos: number; len: number }): bigint {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (this.pos >= this.len) throw new RangeError(`index out of range: ${this.pos} + 1 > ${this.len}`);
    const b = this.buf[this.pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return BigInt.asUintN(64, result);
  }
  throw new RangeError('invalid varint encoding');
}

const own = <T>(m: object, k: string): T | undefined =>
  Object.hasOwn(m, k) ? ((m as Record<string, unknown>)[k] as T) : undefined;

const OTHER_VALUE_FIELDS = ['bytesValue', 'datasetValue', 'templateValue', 'extensionValue'];

/** Decodes a Sparkplug B payload; throws SparkplugError for bytes that are not one. */
export function decodeSparkplugPayload(bytes: Uint8Array): SpPayload {
  const reader = protobuf.Reader.create(bytes);
  (reader as unknown as { uint64: typeof readUint64Exact }).uint64 = readUint64Exact;
  let msg: protobuf.Message;
  try {
    msg = PayloadType.decode(reader);
  } catch (err) {
    throw new SparkplugError(`not a Sparkplug B payload: ${(err as Error).message}`);
  }
  const metrics = (own<object[]>(msg, 'metrics') ?? []).map((m): SpMetric => {
    const out: SpMetric = {};
    for (const k of ['name', 'alias', 'timestamp', 'datatype', 'isNull', 'isHistorical', 'intValue', 'longValue',
      'floatValue', 'doubleValue', 'booleanValue', 'stringValue'] as const) {
      const v = own<never>(m, k);
      if (v !== undefined && v !== null) out[k] = v;
    }
    const other = OTHER_VALUE_FIELDS.find((k) => own(m, k) !== undefined && own(m, k) !== null);
    if (other) out.otherValue = other.replace(/Value$/, '');
    return out;
  });
  return { timestamp: own<bigint>(msg, 'timestamp'), seq: own<bigint>(msg, 'seq'), metrics };
}

/** A metric to encode: `value` goes into the field its datatype uses. */
export interface SpMetricInput {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype: DataTypeName;
  value?: number | boolean | string | null;
}

export interface SpPayloadInput {
  timestamp?: number;
  seq?: number;
  metrics: SpMetricInput[];
}

// 64-bit fields go to the writer as {low, high} words: exact whether or not protobufjs has Long enabled
// (fromObject would route negative Int64 through Long or a double and lose it).
function longBits(n: number | bigint): { low: number; high: number; unsigned: boolean } {
  const b = BigInt.asUintN(64, BigInt(n));
  return { low: Number(b & 0xffffffffn) | 0, high: Number(b >> 32n) | 0, unsigned: true };
}

/** Encodes a payload (used for rebirth commands, tests and simulators). */
export function encodeSparkplugPayload(p: SpPayloadInput): Uint8Array {
  const metrics = p.metrics.map((m) => {
    const dt = DataType[m.datatype];
    const o: Record<string, unknown> = { datatype: dt };
    if (m.name !== undefined) o.name = m.name;
    if (m.alias !== undefined) o.alias = longBits(m.alias);
    if (m.timestamp !== undefined) o.timestamp = longBits(m.timestamp);
    if (m.value === null || m.value === undefined) o.isNull = true;
    else if (dt <= 3 || (dt >= 5 && dt <= 7)) o.intValue = Number(m.value) >>> 0; // signed: two's complement in uint32
    else if (dt === 4 || dt === 8 || dt === 13) o.longValue = longBits(Math.trunc(Number(m.value)));
    else if (dt === 9) o.floatValue = Number(m.value);
    else if (dt === 10) o.doubleValue = Number(m.value);
    else if (dt === 11) o.booleanValue = Boolean(m.value);
    else o.stringValue = String(m.value);
    return o;
  });
  const payload: Record<string, unknown> = { metrics };
  if (p.timestamp !== undefined) payload.timestamp = longBits(p.timestamp);
  if (p.seq !== undefined) payload.seq = longBits(p.seq);
  return PayloadType.encode(payload).finish();
}

/** The shortest decimal that is the same float32 (21.3f decodes as 21.299999237...). */
function shortestFloat32(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

/** A metric's value as a JS value, given its datatype (from the metric or from its birth certificate). */
export function metricValue(m: SpMetric, datatype: number | undefined): { ok: true; value: PointValue | null } | { ok: false; reason: string } {
  if (m.isNull) return { ok: true, value: null };
  const dt = datatype ?? 0;
  const bits = SIGNED_BITS[dt];
  if (m.intValue !== undefined) {
    const u = m.intValue >>> 0;
    if (bits === undefined) return { ok: true, value: UNSIGNED_MASK[dt] !== undefined ? u & UNSIGNED_MASK[dt]! : u };
    return { ok: true, value: bits >= 32 ? u | 0 : (u << (32 - bits)) >> (32 - bits) };
  }
  if (m.longValue !== undefined) return { ok: true, value: Number(bits ? BigInt.asIntN(bits, m.longValue) : m.longValue) };
  if (m.floatValue !== undefined) return { ok: true, value: shortestFloat32(m.floatValue) };
  if (m.doubleValue !== undefined) return { ok: true, value: m.doubleValue };
  if (m.booleanValue !== undefined) return { ok: true, value: m.booleanValue };
  if (m.stringValue !== undefined) return { ok: true, value: m.stringValue };
  if (m.otherValue) return { ok: false, reason: `${TYPE_NAME.get(dt) ?? m.otherValue} values are not supported` };
  return { ok: false, reason: 'metric carries no value' };
}

// ---------------------------------------------------------------------------------------------- topics

export type SpMessageType = 'NBIRTH' | 'NDATA' | 'NDEATH' | 'NCMD' | 'DBIRTH' | 'DDATA' | 'DDEATH' | 'DCMD';
const NODE_TYPES = new Set(['NBIRTH', 'NDATA', 'NDEATH', 'NCMD']);
const DEVICE_TYPES = new Set(['DBIRTH', 'DDATA', 'DDEATH', 'DCMD']);

export interface SpTopic {
  group: string;
  type: SpMessageType;
  edgeNode: string;
  device?: string;
}

/** Parses spBv1.0/{group}/{type}/{edgeNode}[/{device}]; undefined for anything else (incl. STATE). */
export function parseSparkplugTopic(topic: string): SpTopic | undefined {
  const p = topic.split('/');
  if (p[0] !== SPARKPLUG_NAMESPACE || !p[1] || !p[3]) return undefined;
  const type = p[2] ?? '';
  if (p.length === 4 && NODE_TYPES.has(type)) return { group: p[1], type: type as SpMessageType, edgeNode: p[3] };
  if (p.length === 5 && DEVICE_TYPES.has(type) && p[4]) return { group: p[1], type: type as SpMessageType, edgeNode: p[3], device: p[4] };
  return undefined;
}

/** A profile topic pattern with its message-type level widened to + so births, data and deaths all match. */
export function sparkplugMatchPattern(pattern: string): string {
  const p = pattern.split('/');
  if (p.length >= 3) p[2] = '+';
  return p.join('/');
}

/** Why a profile topic pattern cannot describe Sparkplug devices, or undefined. */
export function sparkplugPatternProblem(pattern: string): string | undefined {
  const p = pattern.split('/');
  if (p[0] !== SPARKPLUG_NAMESPACE) return `must start with ${SPARKPLUG_NAMESPACE}/`;
  if (p.length !== 4 && p.length !== 5) return 'must be spBv1.0/{group}/{type}/{edgeNode}[/{device}] (4 or 5 levels)';
  if (p.some((l) => l === '#')) return 'must not use #: each level has a meaning in Sparkplug';
  return undefined;
}

// ---------------------------------------------------------------------------------------------- host state

/** A device bound to Sparkplug topics: its id and its points by metric name. */
export interface SpBinding {
  deviceId: string;
  metrics: Map<string, PointDef[]>;
}

export interface SpObservation {
  samples: PointSample[];
  statuses: DeviceStatusReport[];
  events: Omit<SensingEvent, 'seq'>[];
  errors: { kind: string; detail: string; deviceId?: string }[];
  /** An NCMD "Node Control/Rebirth" to publish: the host lost track of the node's state. */
  rebirth?: { topic: string; payload: Uint8Array };
}

interface MetricInfo {
  name: string;
  datatype?: number;
}

interface NodeState {
  seq?: number;
  bdSeq?: bigint;
  /** Per scope ('' = the node itself, else the Sparkplug device name): alias -> metric and name -> datatype. */
  aliases: Map<string, Map<bigint, MetricInfo>>;
  datatypes: Map<string, Map<string, number>>;
  /** Our devices seen under this node: a node death makes all of them unreachable. */
  devices: Set<string>;
  lastRebirthMs?: number;
}

/** Resolves a topic to the device bound to it: a binding, 'unknown' (pattern matches, no such device) or undefined. */
export type SpResolver = (topic: string, parsed: SpTopic) => SpBinding | 'unknown' | undefined;

const REBIRTH_MIN_INTERVAL_MS = 10_000;

export class SparkplugHost {
  private readonly nodes = new Map<string, NodeState>();

  constructor(
    private readonly resolve: SpResolver,
    private readonly now: () => number = Date.now,
  ) {}

  /** Drops a removed device from the nodes' device sets. */
  forgetDevice(deviceId: string): void {
    for (const n of this.nodes.values()) n.devices.delete(deviceId);
  }

  handle(topic: string, payload: Uint8Array): SpObservation {
    const obs: SpObservation = { samples: [], statuses: [], events: [], errors: [] };
    const t = parseSparkplugTopic(topic);
    if (!t || t.type === 'NCMD' || t.type === 'DCMD') return obs; // STATE, commands (ours echoing back)
    const bound = this.resolve(topic, t);
    const binding = bound === 'unknown' ? undefined : bound;
    if (bound === 'unknown') {
      obs.errors.push({ kind: 'unknown_device', detail: `${topic}: no device is bound to this Sparkplug ${t.device ? 'device' : 'edge node'}` });
    }
    const malformed = (reason: string) => {
      obs.errors.push({ kind: 'malformed', detail: `${topic}: ${reason}`, deviceId: binding?.deviceId });
      if (binding) obs.statuses.push({ deviceId: binding.deviceId, ok: false, reason: 'malformed', detail: reason });
      return obs;
    };
    let p: SpPayload;
    try {
      p = decodeSparkplugPayload(payload);
    } catch (err) {
      return malformed((err as Error).message);
    }
    const nodeKey = `${t.group}/${t.edgeNode}`;
    let node = this.nodes.get(nodeKey);
    if (!node) {
      node = { aliases: new Map(), datatypes: new Map(), devices: new Set() };
      this.nodes.set(nodeKey, node);
    }
    if (binding) node.devices.add(binding.deviceId);

    if (t.type === 'NDEATH') return this.nodeDeath(t, node, p, obs);
    if (p.seq === undefined) return malformed(`${t.type} without seq`);
    const seq = Number(p.seq);
    if (seq > 255) return malformed(`seq ${seq} is outside 0..255`);
    this.checkSeq(t, node, seq, binding, obs);

    const scope = t.device ?? '';
    if (t.type === 'DDEATH') {
      node.aliases.delete(scope);
      node.datatypes.delete(scope);
      if (binding) obs.statuses.push({ deviceId: binding.deviceId, ok: false, reason: 'unreachable', detail: 'Sparkplug DDEATH' });
      return obs;
    }
    if (t.type === 'NBIRTH' || t.type === 'DBIRTH') this.learnBirth(node, scope, p, t.type === 'NBIRTH');
    this.metricsToSamples(t, node, scope, p, binding, obs);
    return obs;
  }

  private checkSeq(t: SpTopic, node: NodeState, seq: number, binding: SpBinding | undefined, obs: SpObservation): void {
    const prev = node.seq;
    node.seq = seq;
    if (t.type === 'NBIRTH') return; // a birth starts a new sequence
    if (prev === undefined) {
      // Joined mid-stream (edge restarted, node born earlier): ask for a birth to learn aliases.
      this.requestRebirth(t, node, obs);
      return;
    }
    const expected = (prev + 1) % 256;
    if (seq === expected) return;
    const lost = (seq - expected + 256) % 256;
    const message = `Sparkplug edge node ${t.group}/${t.edgeNode}: expected seq ${expected}, got ${seq} (${lost} message(s) lost)`;
    obs.errors.push({ kind: 'sparkplug_seq_gap', detail: message, deviceId: binding?.deviceId });
    const affected = new Set(node.devices);
    if (binding) affected.add(binding.deviceId);
    for (const deviceId of affected) {
      obs.events.push({ deviceId, kind: EventKind.DATA_GAP, severity: Severity.WARNING, message, ts: this.now(), code: 'sparkplug_seq_gap' });
    }
    this.requestRebirth(t, node, obs);
  }

  private nodeDeath(t: SpTopic, node: NodeState, p: SpPayload, obs: SpObservation): SpObservation {
    const bdSeq = p.metrics.find((m) => m.name === 'bdSeq')?.longValue;
    // An NDEATH is the broker delivering the node's will: a stale one (older session) must not kill a live node.
    if (bdSeq !== undefined && node.bdSeq !== undefined && bdSeq !== node.bdSeq) return obs;
    node.seq = undefined;
    node.aliases.clear();
    node.datatypes.clear();
    for (const deviceId of node.devices) {
      obs.statuses.push({ deviceId, ok: false, reason: 'unreachable', detail: `Sparkplug NDEATH of ${t.group}/${t.edgeNode}` });
    }
    return obs;
  }

  private learnBirth(node: NodeState, scope: string, p: SpPayload, isNodeBirth: boolean): void {
    if (isNodeBirth) {
      node.aliases.clear();
      node.datatypes.clear();
      node.bdSeq = p.metrics.find((m) => m.name === 'bdSeq')?.longValue;
    }
    const aliases = new Map<bigint, MetricInfo>();
    const types = new Map<string, number>();
    for (const m of p.metrics) {
      if (m.name === undefined) continue;
      if (m.datatype !== undefined) types.set(m.name, m.datatype);
      if (m.alias !== undefined) aliases.set(m.alias, { name: m.name, datatype: m.datatype });
    }
    node.aliases.set(scope, aliases);
    node.datatypes.set(scope, types);
  }

  private metricsToSamples(t: SpTopic, node: NodeState, scope: string, p: SpPayload, binding: SpBinding | undefined, obs: SpObservation): void {
    const aliases = node.aliases.get(scope);
    const types = node.datatypes.get(scope);
    const problems: string[] = [];
    const unknownAliases: string[] = [];
    for (const m of p.metrics) {
      const info = m.name === undefined && m.alias !== undefined ? aliases?.get(m.alias) : undefined;
      const name = m.name ?? info?.name;
      if (name === undefined) {
        if (m.alias !== undefined) unknownAliases.push(String(m.alias));
        else problems.push('metric without name or alias');
        continue;
      }
      const points = binding?.metrics.get(name);
      if (!binding || !points) continue; // metrics the profile does not map (bdSeq, Node Control/*, ...)
      const datatype = m.datatype ?? info?.datatype ?? types?.get(name);
      const v = metricValue(m, datatype);
      if (!v.ok) {
        problems.push(`metric ${name}: ${v.reason}`);
        continue;
      }
      const rawTs = m.timestamp ?? p.timestamp;
      let ts: number | undefined;
      if (rawTs !== undefined) {
        const tt = toEpochMs(Number(rawTs), 'ms');
        if (tt.ok) ts = tt.ts;
        else problems.push(`metric ${name}: ${tt.reason}`);
      }
      for (const point of points) {
        const c = coerce(v.value, expectedTypeOf(point));
        if (!c.ok) {
          problems.push(`metric ${name} -> point ${point.name}: ${c.reason}`);
          continue;
        }
        const s: PointSample = c.value === null
          ? { deviceId: binding.deviceId, point: point.name, value: null, quality: 'bad', reason: 'Sparkplug null metric' }
          : { deviceId: binding.deviceId, point: point.name, value: c.value, quality: 'good' };
        if (ts !== undefined) s.ts = ts;
        obs.samples.push(s);
      }
    }
    if (unknownAliases.length) {
      const detail = `${t.type} of ${t.group}/${t.edgeNode}${t.device ? `/${t.device}` : ''}: alias(es) ${unknownAliases.join(', ')} not in any birth certificate`;
      obs.errors.push({ kind: 'sparkplug_unknown_alias', detail, deviceId: binding?.deviceId });
      this.requestRebirth(t, node, obs);
    }
    if (!binding) return;
    if (problems.length) {
      const detail = problems.join('; ');
      obs.errors.push({ kind: 'malformed', detail: `spBv1.0/${t.group}/${t.type}/${t.edgeNode}${t.device ? `/${t.device}` : ''}: ${detail}`, deviceId: binding.deviceId });
      obs.statuses.push({ deviceId: binding.deviceId, ok: false, reason: 'malformed', detail });
    } else if (unknownAliases.length && obs.samples.length === 0) {
      obs.statuses.push({ deviceId: binding.deviceId, ok: false, reason: 'protocol_error', detail: 'data before birth certificate' });
    } else {
      obs.statuses.push({ deviceId: binding.deviceId, ok: true });
    }
  }

  private requestRebirth(t: SpTopic, node: NodeState, obs: SpObservation): void {
    const now = this.now();
    if (node.lastRebirthMs !== undefined && now - node.lastRebirthMs < REBIRTH_MIN_INTERVAL_MS) return;
    node.lastRebirthMs = now;
    obs.rebirth = {
      topic: `${SPARKPLUG_NAMESPACE}/${t.group}/NCMD/${t.edgeNode}`,
      payload: encodeSparkplugPayload({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', datatype: 'Boolean', value: true }] }),
    };
  }
}
