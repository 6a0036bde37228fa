// The one seam between the edge platform and a protocol (after EdgeX's ProtocolDriver).
// Adapters turn device traffic into PointSamples keyed by the profile's point names and report device
// health; they know nothing about normalization, buffering or the uplink.
import type { DeviceProfile, PointDef } from '../core/profiles.js';
import type { DeviceRecord, SensingEvent, Snapshot, VideoQuality } from '../schema/types.js';

export type PointValue = number | boolean | string;

export type SampleQuality = 'good' | 'uncertain' | 'bad';

/** One decoded value of one profile point (before unit conversion and scaling by the normalizer). */
export interface PointSample {
  deviceId: string;
  point: string;          // PointDef.name
  value: PointValue | null; // null when quality is bad and there is no value
  ts?: number;            // source timestamp (ms) when the protocol gives one
  quality: SampleQuality;
  reason?: string;        // why uncertain/bad
  aggregate?: 'avg' | 'min' | 'max' | 'total';
  periodS?: number;
}

/** Health reason codes shared by every protocol. */
export type HealthReason =
  | 'timeout'
  | 'exception'
  | 'unreachable'
  | 'auth_failure'
  | 'no_data'
  | 'malformed'
  | 'protocol_error'
  | 'stream_unreachable'
  | 'no_frames';

/** One observation of a device's health: a successful exchange (ok) or a failure with its reason. */
export interface DeviceStatusReport {
  deviceId: string;
  ok: boolean;
  reason?: HealthReason;
  detail?: string;
  latencyMs?: number;
  ts?: number;
}

/** A device as an adapter sees it: its record id, its profile and its protocol-specific connection. */
export interface DeviceBinding<C = Record<string, unknown>> {
  id: string;
  profile: DeviceProfile;
  connection: C;
  record?: DeviceRecord;
}

export interface AdapterLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * What `AdapterSink.samples()` hands back: resolves true once everything the call stored is durable (committed
 * to the edge's on-disk buffer), false when it will not be (dropped while the disk was failing, or the edge is
 * stopping). Never rejects. Lazy: nothing is waited for — and no early commit is asked for — until `then` is
 * called, so adapters that acknowledge nothing can ignore it.
 */
export type Durability = PromiseLike<boolean>;

/** Where adapters deliver what they observe. Calls must be cheap and never throw. */
export interface AdapterSink {
  /**
   * Takes samples. Protocols that acknowledge to the device (MQTT PUBACK, HJ 212 answers, SL 651 confirmations)
   * wait on the returned Durability before they answer. Sinks without a durable store may return nothing,
   * which means "accepted now".
   */
  samples(samples: PointSample[]): Durability | void;
  status(report: DeviceStatusReport): void;
  /** Count of a named problem (e.g. malformed payload), surfaced in /metrics as yiwang_adapter_errors_total. */
  error(protocol: string, kind: string, detail: string, deviceId?: string): void;
  /** Device-record facts learned from the device (ONVIF device info, Sparkplug birth, ...). */
  record?(deviceId: string, patch: Partial<DeviceRecord>): void;
  /** Events an adapter observes itself (Sparkplug seq gap, video fault raised/cleared); the edge assigns seq. */
  event?(event: Omit<SensingEvent, 'seq'>): void;
  /** Video metadata (cameras): shipped through the same store-and-forward uplink. */
  videoQuality?(vq: Omit<VideoQuality, 'seq'>): void;
  snapshot?(s: Omit<Snapshot, 'seq'>): void;
}

/** Options every adapter factory receives from the edge. */
export interface AdapterOptions {
  /** Directory the adapter may keep state in (OPC UA PKI, remembered Modbus splits, ...). */
  dataDir: string;
  /** Protocol-level settings from the edge config's `protocols.<name>` block (listener ports, brokers, ...). */
  settings?: Record<string, unknown>;
}

/** Each protocols/<name>/index.ts default-exports one of these; the edge imports it only when a device needs it. */
export type AdapterFactory = (options: AdapterOptions) => ProtocolAdapter;

export interface DiscoveredDevice {
  protocol: string;
  address: string;
  name?: string;
  details?: Record<string, unknown>;
}

export interface ProtocolAdapter<C = Record<string, unknown>> {
  readonly protocol: string;
  /** Validate a device's connection settings; returns human-readable problems ("connection.port: must be ..."). */
  validateConnection(connection: unknown, profile: DeviceProfile): string[];
  start(sink: AdapterSink, log: AdapterLogger): Promise<void>;
  stop(): Promise<void>;
  addDevice(device: DeviceBinding<C>): Promise<void>;
  updateDevice(device: DeviceBinding<C>): Promise<void>;
  removeDevice(deviceId: string): Promise<void>;
  discover?(timeoutMs: number): Promise<DiscoveredDevice[]>;
}

/** Points of a profile that carry a mapping for the given protocol key. */
export function pointsFor<K extends keyof PointDef>(profile: DeviceProfile, key: K): (PointDef & Required<Pick<PointDef, K>>)[] {
  return profile.points.filter((p) => p[key] !== undefined) as (PointDef & Required<Pick<PointDef, K>>)[];
}
