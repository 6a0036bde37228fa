// Load generator shared by the collector benchmarks: edges sending pre-encoded Batches over MQTT with a bounded
// window of unacked batches each, timing every batch from publish to its Ack.
import mqtt from 'mqtt';
import { decodeAck, encodeBatch } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import type { Reading } from '../../schema/types.js';

export const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** `n` readings of 10 devices × 5 metrics, 10 s apart per series (a site's water telemetry). */
export function makeBatch(edgeId: string, batchId: number, firstSeq: number, n: number, ts0: number, stepMs: number, devices: number): Uint8Array {
  const readings: Reading[] = new Array(n);
  const metrics = ['water_level', 'flow_rate', 'water_temperature', 'ph', 'turbidity'];
  for (let i = 0; i < n; i++) {
    const seq = firstSeq + i;
    readings[i] = {
      deviceId: `${edgeId}-d${seq % devices}`,
      metric: metrics[Math.floor(seq / devices) % metrics.length]!,
      number: Math.sin(seq / 100) * 10 + 20,
      unit: '',
      ts: ts0 + Math.floor(seq / (devices * metrics.length)) * stepMs,
      seq,
    };
  }
  return encodeBatch({ edgeId, batchId, firstSeq, lastSeq: firstSeq + n - 1, readings, sentAt: Date.now() });
}

export interface LoadResult {
  readings: number;
  seconds: number;
  /** Publish-to-ack latency of every batch, ms. */
  lat: number[];
}

export interface LoadOptions {
  mqttPort: number;
  ids: string[];
  password: (edgeId: string) => string;
  batchesPerEdge: number;
  readingsPerBatch: number;
  /** Unacked batches per edge. */
  window: number;
  firstBatchId?: number;
}

export async function runEdges(o: LoadOptions): Promise<LoadResult> {
  const day = 86_400_000;
  const ts0 = Date.now() - day;
  const first = o.firstBatchId ?? 1;
  // Pre-encode everything so the generator's CPU goes into MQTT, not protobuf.
  const payloads = o.ids.map((id) =>
    Array.from({ length: o.batchesPerEdge }, (_, b) => makeBatch(id, first + b, (first - 1 + b) * o.readingsPerBatch + 1, o.readingsPerBatch, ts0, 10_000, 10)),
  );
  const clients = await Promise.all(
    o.ids.map((id) => mqtt.connectAsync(`mqtt://127.0.0.1:${o.mqttPort}`, { clientId: `${id}-load`, username: id, password: o.password(id), reconnectPeriod: 0 })),
  );
  await Promise.all(clients.map((c, i) => c.subscribeAsync(topics.ack(o.ids[i]!), { qos: 1 })));
  const lat: number[] = [];
  const start = performance.now();
  await Promise.all(
    clients.map(
      (client, i) =>
        new Promise<void>((resolve) => {
          const id = o.ids[i]!;
          const sentAt = new Map<number, number>();
          let next = 0;
          let acked = 0;
          const sendOne = () => {
            const b = next++;
            sentAt.set(first + b, performance.now());
            client.publish(topics.batch(id), Buffer.from(payloads[i]![b]!), { qos: 1 });
          };
          client.on('message', (_t, payload) => {
            const ack = decodeAck(payload);
            const t = sentAt.get(ack.batchId);
            if (t === undefined || ack.rejected) return;
            sentAt.delete(ack.batchId);
            lat.push(performance.now() - t);
            acked++;
            if (next < o.batchesPerEdge) sendOne();
            if (acked === o.batchesPerEdge) resolve();
          });
          for (let w = 0; w < o.window && next < o.batchesPerEdge; w++) sendOne();
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(clients.map((c) => c.endAsync()));
  return { readings: o.ids.length * o.batchesPerEdge * o.readingsPerBatch, seconds, lat };
}
