// A test edge that sends alarm-related events and readings with consecutive seqs (one batch per call), through a
// real MQTT connection to the collector, waiting for each batch's ack.
import { EventKind, Severity, type Batch, type SensingEvent } from '../../../schema/types.js';
import { TestEdge } from '../helpers.js';

export class EventEdge {
  seq = 1000;
  batchId = 10;

  constructor(public edge: TestEdge) {}

  static async connect(port: number, id: string, password: string): Promise<EventEdge> {
    return new EventEdge(await TestEdge.connect(port, id, password));
  }

  get id(): string {
    return this.edge.id;
  }

  ev(e: Omit<SensingEvent, 'seq' | 'message'> & { message?: string }): SensingEvent {
    return { message: '', ...e, seq: this.seq++ };
  }

  /** An ALARM_RAISED of a threshold (level from the severity: warning, or alarm for major/critical). */
  raise(deviceId: string, o: { metric?: string; severity?: number; value: number; threshold: number; ts: number }): SensingEvent {
    const metric = o.metric ?? 'water_level';
    const severity = o.severity ?? Severity.WARNING;
    return this.ev({ deviceId, kind: EventKind.ALARM_RAISED, severity: severity as Severity, code: `${metric}.${severity >= Severity.MAJOR ? 'alarm' : 'warning'}`, metric, value: o.value, threshold: o.threshold, ts: o.ts });
  }

  /** An ALARM_CLEARED; `remaining` is the level still crossed (INFO: none). */
  clear(deviceId: string, o: { metric?: string; level: 'warning' | 'alarm'; remaining?: number; value: number; threshold: number; ts: number }): SensingEvent {
    const metric = o.metric ?? 'water_level';
    return this.ev({ deviceId, kind: EventKind.ALARM_CLEARED, severity: (o.remaining ?? Severity.INFO) as Severity, code: `${metric}.${o.level}`, metric, value: o.value, threshold: o.threshold, ts: o.ts });
  }

  async send(items: { events?: SensingEvent[]; readings?: { deviceId: string; metric: string; value: number; ts: number; unit?: string }[] }): Promise<Batch> {
    const readings = (items.readings ?? []).map((r) => ({ deviceId: r.deviceId, metric: r.metric, number: r.value, unit: r.unit ?? 'm', ts: r.ts, quality: 0 as const, seq: this.seq++ }));
    const all = [...readings.map((r) => r.seq), ...(items.events ?? []).map((e) => e.seq)];
    const b: Batch = { edgeId: this.id, batchId: this.batchId++, firstSeq: Math.min(...all), lastSeq: Math.max(...all), readings, events: items.events ?? [] };
    await this.edge.send(b);
    return b;
  }

  /** Sends the same items again under a new batch id (a redelivery). */
  async resend(b: Batch): Promise<void> {
    await this.edge.send({ ...b, batchId: this.batchId++ });
  }

  close(): Promise<void> {
    return this.edge.close();
  }
}
