// An AdapterSink that records what an adapter delivers, with helpers to wait for it in integration tests.
import type { AdapterSink, DeviceStatusReport, PointSample } from '../../protocols/adapter.js';
import type { DeviceRecord, SensingEvent, Snapshot, VideoQuality } from '../../schema/types.js';

export class RecordingSink implements AdapterSink {
  readonly sampleLog: PointSample[] = [];
  readonly statusLog: DeviceStatusReport[] = [];
  readonly errorLog: { protocol: string; kind: string; detail: string; deviceId?: string }[] = [];
  readonly recordLog: { deviceId: string; patch: Partial<DeviceRecord> }[] = [];
  readonly eventLog: Omit<SensingEvent, 'seq'>[] = [];
  readonly videoLog: Omit<VideoQuality, 'seq'>[] = [];
  readonly snapshotLog: Omit<Snapshot, 'seq'>[] = [];
  private waiters: (() => void)[] = [];

  samples(samples: PointSample[]): void {
    this.sampleLog.push(...samples);
    this.wake();
  }
  status(report: DeviceStatusReport): void {
    this.statusLog.push(report);
    this.wake();
  }
  error(protocol: string, kind: string, detail: string, deviceId?: string): void {
    this.errorLog.push({ protocol, kind, detail, deviceId });
    this.wake();
  }
  record(deviceId: string, patch: Partial<DeviceRecord>): void {
    this.recordLog.push({ deviceId, patch });
    this.wake();
  }
  event(event: Omit<SensingEvent, 'seq'>): void {
    this.eventLog.push(event);
    this.wake();
  }
  videoQuality(vq: Omit<VideoQuality, 'seq'>): void {
    this.videoLog.push(vq);
    this.wake();
  }
  snapshot(s: Omit<Snapshot, 'seq'>): void {
    this.snapshotLog.push(s);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `predicate` holds (checked after every delivery); rejects after timeoutMs with `what`. */
  async waitFor(predicate: (sink: this) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  samplesOf(deviceId: string, point?: string): PointSample[] {
    return this.sampleLog.filter((s) => s.deviceId === deviceId && (point === undefined || s.point === point));
  }
}
