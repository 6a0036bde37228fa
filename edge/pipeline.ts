// The edge's AdapterSink: adapter output -> normalization -> durable buffer, health -> events + records.
import type { AdapterSink, DeviceStatusReport, Durability, PointSample } from '../protocols/adapter.js';
import type { Logger } from '../core/log.js';
import { excerpt, ProblemLog } from '../core/problem-log.js';
import { redactRecordSecrets } from '../core/records.js';
import type { Registry } from '../core/prom.js';
import type { DeviceRecord, Reading, SensingEvent, Snapshot, VideoQuality } from '../schema/types.js';
import { HealthModel, type DeviceHealth, type HealthTransition } from './health.js';
import { LastMessages } from './last-message.js';
import { Normalizer, type TimestampWindow } from './normalize.js';
import type { AlarmLevels } from './alarm-levels.js';

/** What the pipeline needs from the durable buffer: each add assigns the item's sequence number. */
export interface AcceptingStore {
  addReading(r: Omit<Reading, 'seq'>): number;
  addEvent(e: Omit<SensingEvent, 'seq'>): number;
  addRecord(r: DeviceRecord): number;
  addVideoQuality(v: Omit<VideoQuality, 'seq'>): number;
  addSnapshot(s: Omit<Snapshot, 'seq'>): number;
  /** True once seqs first..last are committed, false if they never will be (see EdgeBuffer.whenDurable). */
  whenDurable(first: number, last: number): Promise<boolean>;
}

const DURABLE_NOW: Durability = Promise.resolve(true);
const NOT_ACCEPTED: Durability = Promise.resolve(false);

/** The seq range one samples() call stored; asks the store only when someone actually waits (then). */
class StoredRange implements Durability {
  constructor(
    private readonly store: AcceptingStore,
    private readonly first: number,
    private readonly last: number,
  ) {}

  then<A = boolean, B = never>(onDurable?: ((d: boolean) => A | PromiseLike<A>) | null, onError?: ((e: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    return this.store.whenDurable(this.first, this.last).then(onDurable, onError);
  }
}

/** Listens to what the pipeline accepts (northbound services such as GB/T 28181). Calls must be cheap and never block. */
export interface PipelineObserver {
  recordChanged?(record: DeviceRecord): void;
  recordDropped?(deviceId: string): void;
  event?(event: Omit<SensingEvent, 'seq'>): void;
}

export class EdgePipeline implements AdapterSink {
  readonly normalizer: Normalizer;
  readonly health: HealthModel;
  /** What each device last sent, raw (for `yiwang edge device test` through the admin API). */
  readonly lastMessages: LastMessages;
  private readonly records = new Map<string, DeviceRecord>();
  private readonly protocolOf = new Map<string, string>();
  private readonly readingsIn;
  private readonly readingsBad;
  private readonly adapterErrors;
  private readonly normalizeProblems;
  private readonly eventsOut;
  private readonly problems: ProblemLog;
  private readonly observers = new Set<PipelineObserver>();
  /** Level changes waiting for their event's seq (the event object is the key). */
  private readonly levelOf = new WeakMap<object, { key: string; level: number }>();
  private alarmLevels: AlarmLevels | undefined;

  constructor(
    private readonly store: AcceptingStore,
    private readonly log: Logger,
    metrics: Registry,
    private readonly edgeId: string,
    now: () => number = Date.now,
    timestamps?: TimestampWindow,
  ) {
    this.normalizer = new Normalizer(now, timestamps);
    this.lastMessages = new LastMessages(now);
    this.health = new HealthModel((t, h) => this.onHealthTransition(t, h), now);
    this.readingsIn = metrics.counter('yiwang_edge_readings_in_total', 'Readings accepted into the durable buffer, by protocol');
    this.readingsBad = metrics.counter('yiwang_edge_readings_bad_total', 'Readings accepted with quality BAD or UNCERTAIN, by protocol');
    this.adapterErrors = metrics.counter('yiwang_edge_adapter_errors_total', 'Problems reported by protocol adapters (malformed payloads, exceptions, ...)');
    this.normalizeProblems = metrics.counter('yiwang_edge_normalize_problems_total', 'Samples that could not be normalized, by device');
    this.eventsOut = metrics.counter('yiwang_edge_events_total', 'Events accepted into the buffer, by kind');
    this.problems = new ProblemLog(log);
  }

  /** Keeps threshold alarm levels across restarts: restores the saved ones, saves each change once its event is committed. */
  persistAlarmLevels(levels: AlarmLevels): void {
    this.alarmLevels = levels;
    this.normalizer.restoreAlarmLevels(levels.load());
    this.normalizer.onAlarmLevel = (key, level, event) => this.levelOf.set(event, { key, level });
  }

  /** Registers or replaces a device's record (and announces it upstream). */
  putRecord(record: DeviceRecord, protocol: string): void {
    this.protocolOf.set(record.id, protocol);
    const prev = this.records.get(record.id);
    const next = { ...redactRecordSecrets(record), edgeId: this.edgeId, runtimeStatus: prev?.runtimeStatus ?? record.runtimeStatus ?? 'unknown', lastSeen: prev?.lastSeen, statusReason: prev?.statusReason };
    this.records.set(record.id, next);
    this.store.addRecord({ ...next, updatedAt: Date.now() });
    this.tell((o) => o.recordChanged?.(next));
  }

  /** Adds an observer; returns the function that removes it. */
  observe(o: PipelineObserver): () => void {
    this.observers.add(o);
    return () => this.observers.delete(o);
  }

  private tell(f: (o: PipelineObserver) => void): void {
    for (const o of this.observers) {
      try {
        f(o);
      } catch (err) {
        this.problems.report('pipeline', 'observer', 'pipeline observer failed', { err: (err as Error).message });
      }
    }
  }

  dropRecord(deviceId: string): void {
    this.tell((o) => o.recordDropped?.(deviceId));
    this.records.delete(deviceId);
    this.protocolOf.delete(deviceId);
    this.normalizer.removeDevice(deviceId);
    this.health.untrack(deviceId);
    this.lastMessages.forget(deviceId);
  }

  getRecord(deviceId: string): DeviceRecord | undefined {
    return this.records.get(deviceId);
  }

  allRecords(): DeviceRecord[] {
    return [...this.records.values()];
  }

  samples(samples: PointSample[]): Durability {
    this.lastMessages.record(samples);
    const { readings, events, problems } = this.normalizer.normalize(samples);
    let first = 0;
    let last = 0;
    try {
      // Counted once per call, not per reading: label hashing per reading would cost more than the buffer write.
      let bad = 0;
      for (const r of readings) {
        last = this.store.addReading(r);
        if (!first) first = last;
        if (r.quality) bad++;
      }
      if (readings.length) {
        const protocol = this.protocolOf.get(readings[0]!.deviceId) ?? 'unknown';
        this.readingsIn.inc({ protocol }, readings.length);
        if (bad) this.readingsBad.inc({ protocol }, bad);
      }
      for (const e of events) {
        last = this.acceptEvent(e);
        if (!first) first = last;
      }
    } catch (err) {
      // Only a closed buffer throws (the agent is stopping): nothing of this call counts as accepted.
      this.problems.report('buffer', 'not_accepted', 'item not accepted', { err: (err as Error).message });
      return NOT_ACCEPTED;
    }
    for (const p of problems) {
      this.normalizeProblems.inc({ device: p.deviceId });
      this.problems.report(p.deviceId, `normalize:${p.point}`, 'sample not normalized', { deviceId: p.deviceId, point: p.point, reason: p.reason });
    }
    return first ? new StoredRange(this.store, first, last) : DURABLE_NOW;
  }

  status(report: DeviceStatusReport): void {
    this.unlessStopped(() => this.health.report(report));
  }

  error(protocol: string, kind: string, detail: string, deviceId?: string): void {
    this.adapterErrors.inc({ protocol, kind });
    this.problems.report(deviceId ?? protocol, `${protocol}:${kind}`, 'adapter problem', { protocol, kind, deviceId, detail: excerpt(detail, 300) });
  }

  record(deviceId: string, patch: Partial<DeviceRecord>): void {
    const cur = this.records.get(deviceId);
    if (!cur) return;
    const merged: DeviceRecord = redactRecordSecrets({ ...cur, ...patch, camera: patch.camera ? { ...cur.camera, ...patch.camera } : cur.camera, id: cur.id });
    if (JSON.stringify(merged) === JSON.stringify(cur)) return;
    this.records.set(deviceId, merged);
    this.unlessStopped(() => this.store.addRecord({ ...merged, updatedAt: Date.now() }));
    this.tell((o) => o.recordChanged?.(merged));
  }

  event(e: Omit<SensingEvent, 'seq'>): void {
    this.unlessStopped(() => this.acceptEvent(e));
  }

  videoQuality(vq: Omit<VideoQuality, 'seq'>): void {
    this.unlessStopped(() => this.store.addVideoQuality(vq));
  }

  snapshot(s: Omit<Snapshot, 'seq'>): void {
    this.unlessStopped(() => this.store.addSnapshot(s));
  }

  /** Sink calls must never throw; the store only does once it is closed, i.e. while the agent stops. */
  private unlessStopped(add: () => unknown): void {
    try {
      add();
    } catch (err) {
      this.problems.report('buffer', 'not_accepted', 'item not accepted', { err: (err as Error).message });
    }
  }

  private acceptEvent(e: Omit<SensingEvent, 'seq'>): number {
    const seq = this.store.addEvent(e);
    const level = this.levelOf.get(e);
    if (level) this.alarmLevels?.changed(level.key, level.level, seq);
    this.eventsOut.inc({ kind: e.kind });
    this.tell((o) => o.event?.(e));
    this.log.info({ deviceId: e.deviceId, kind: e.kind, code: e.code, message: e.message }, 'event');
    return seq;
  }

  private onHealthTransition(t: HealthTransition, h: DeviceHealth): void {
    const { state, ...event } = t;
    this.acceptEvent(event);
    const cur = this.records.get(t.deviceId);
    if (!cur) return;
    const next: DeviceRecord = { ...cur, runtimeStatus: state, lastSeen: h.lastSeen, statusReason: h.reason ? `${h.reason}${h.detail ? `: ${h.detail}` : ''}` : '' };
    this.records.set(t.deviceId, next);
    this.store.addRecord({ ...next, updatedAt: t.ts });
    this.tell((o) => o.recordChanged?.(next));
  }
}
