// The last message each device delivered, as the adapter decoded it (raw values keyed by profile point),
// for `yiwang edge device test` and `edge doctor`: push devices (MQTT, HJ 212, SL 651) can only be checked by
// what they last sent. One entry per device, bounded by the profile's points.
import type { PointSample } from '../protocols/adapter.js';

export interface LastMessage {
  receivedAt: number;
  samples: PointSample[];
}

const MAX_SAMPLES = 500; // a profile has tens of points; a runaway adapter must not grow this

export class LastMessages {
  private readonly byDevice = new Map<string, LastMessage>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records one adapter delivery; samples of several devices are split per device. */
  record(samples: PointSample[]): void {
    if (!samples.length) return;
    const receivedAt = this.now();
    const first = samples[0]!.deviceId;
    if (samples.every((s) => s.deviceId === first)) {
      this.byDevice.set(first, { receivedAt, samples: samples.slice(0, MAX_SAMPLES) });
      return;
    }
    const groups = new Map<string, PointSample[]>();
    for (const s of samples) {
      const g = groups.get(s.deviceId) ?? [];
      if (g.length < MAX_SAMPLES) g.push(s);
      groups.set(s.deviceId, g);
    }
    for (const [id, g] of groups) this.byDevice.set(id, { receivedAt, samples: g });
  }

  get(deviceId: string): LastMessage | undefined {
    return this.byDevice.get(deviceId);
  }

  forget(deviceId: string): void {
    this.byDevice.delete(deviceId);
  }
}
