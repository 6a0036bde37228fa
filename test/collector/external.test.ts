// External-broker mode against a real Mosquitto: two collectors share one database and one shared
// subscription; every batch is stored once and acked, redeliveries included.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { decodeAck, encodeBatch } from '../../schema/codec.js';
import { topics } from '../../schema/topics.js';
import type { Ack } from '../../schema/types.js';
import type { Collector } from '../../collector/index.js';
import { freePort } from '../../core/net.js';
import { countRows, portOpen, readingsBatch, requireBinary, sleep, startTestCollector, stopProcess, tempDir, waitFor } from './helpers.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

describe('external broker mode with a shared subscription', () => {
  const tmp = tempDir();
  let broker: ChildProcess;
  let port: number;
  const collectors: Collector[] = [];

  beforeAll(async () => {
    requireBinary(MOSQUITTO, 'mosquitto');
    port = await freePort();
    const conf = join(tmp.dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    broker = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    await waitFor('mosquitto listening', () => portOpen(port), 5_000);
    for (let i = 0; i < 2; i++) {
      collectors.push(await startTestCollector(join(tmp.dir, 'db'), (c) => (c.mqtt = { external: { url: `mqtt://127.0.0.1:${port}`, sharedGroup: 'collectors', clientId: `collector-${i}` } })));
    }
  });
  afterAll(async () => {
    for (const c of collectors) await c.stop();
    await stopProcess(broker);
    tmp.remove();
  });

  it('splits batches between collectors, stores each sequence once and acks every batch', async () => {
    const edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'edge-x', reconnectPeriod: 0 });
    const acks: Ack[] = [];
    edge.on('message', (_t, p) => acks.push(decodeAck(p)));
    await edge.subscribeAsync(topics.ack('edge-x'), { qos: 1 });
    const batches = Array.from({ length: 20 }, (_, i) => readingsBatch('edge-x', i + 1, i * 25 + 1, 25, { device: 'x-dev' }));
    for (const round of [1, 2]) {
      for (const b of batches) await edge.publishAsync(topics.batch('edge-x'), Buffer.from(encodeBatch(b)), { qos: 1 });
      const deadline = Date.now() + 10_000;
      while (acks.length < 20 * round && Date.now() < deadline) await sleep(20);
    }
    await edge.endAsync();
    expect(acks.length).toBe(40);
    expect(new Set(acks.map((a) => a.batchId)).size).toBe(20);
    expect(await countRows(collectors[0]!.store, 'points')).toBe(500);
    expect(await collectors[0]!.store.edges.ranges('edge-x')).toEqual([{ first: 1, last: 500 }]);
    const stored = collectors.map((c) => c.metrics.readingsIn.total());
    expect(stored[0]! + stored[1]!).toBe(500);
    expect(stored.every((s) => s > 0)).toBe(true); // the shared subscription really split the load
    expect(collectors[0]!.metrics.dedupHits.total() + collectors[1]!.metrics.dedupHits.total()).toBe(500);
  });
});
