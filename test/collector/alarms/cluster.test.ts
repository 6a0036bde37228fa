// Two collector nodes on one PostgreSQL database: both run the notification worker and the sweeper. Alarms raised
// through one node are delivered exactly once (whichever node claims them), and both nodes sweeping the same silent
// edge at the same moment raise one alarm with one history entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import type { DeviceRecord } from '../../../schema/types.js';
import { DEFAULT_ALARMS_CONFIG, type AlarmsConfig } from '../../../collector/alarms/config.js';
import { AlarmSweeper } from '../../../collector/alarms/sweeper.js';
import type { Collector } from '../../../collector/index.js';
import type { CollectorConfig } from '../../../collector/config.js';
import { startReceiver, type Receiver } from '../notify/receiver.js';
import { apiJson, countRows, startTestCollector, tempDir, testStore, waitFor } from '../helpers.js';
import { EventEdge } from './edge-events.js';
import type { Alarm, AlarmDetail } from '../../../collector/store/index.js';

const EDGE = 'edge-cluster';
const N = 24;
const records: DeviceRecord[] = Array.from({ length: N }, (_, i) => ({ id: `wl-${i}`, name: `水位${i}`, kind: 'sensor', site: { id: 's', name: '站' }, sharingScope: ['water'], seq: i + 1 }));

describe('alarms in a cluster (two nodes, one PostgreSQL)', () => {
  const tmpA = tempDir('yiwang-ca-');
  const tmpB = tempDir('yiwang-cb-');
  let a: Collector;
  let b: Collector;
  let cleanup: () => Promise<void>;
  let hook: Receiver;
  let edge: EventEdge;
  let token: string;
  const alarms: AlarmsConfig = { ...DEFAULT_ALARMS_CONFIG, deliveryPollMs: 50, sweepIntervalS: 3600, edgeOfflineAfterS: 10 };

  beforeAll(async () => {
    hook = await startReceiver(() => ({ text: 'ok' }));
    const s = await testStore('postgres');
    cleanup = s.cleanup;
    const patch = (cfg: CollectorConfig) => {
      cfg.alarms = alarms;
      cfg.notify = { digest: { threshold: 1000, windowS: 60 }, channels: [{ id: 'hook', type: 'webhook', url: `${hook.url}/h` }], rules: [{ id: 'all', bureau: 'water', channels: ['hook'] }] };
    };
    a = await startTestCollector(tmpA.dir, patch, s.url);
    b = await startTestCollector(tmpB.dir, patch, s.url);
    const pw = await a.addEdge(EDGE);
    token = await a.createToken({ name: 'water', bureau: 'water' });
    edge = await EventEdge.connect(a.mqttPort!, EDGE, pw);
    await edge.edge.send({ edgeId: EDGE, batchId: 1, firstSeq: 1, lastSeq: N, records });
  });
  afterAll(async () => {
    await edge?.close();
    await a?.stop();
    await b?.stop();
    await hook?.close();
    await cleanup();
    tmpA.remove();
    tmpB.remove();
  });

  it('delivers every transition exactly once although both nodes work the queue', async () => {
    const t = Date.now();
    for (let i = 0; i < N; i += 4) await edge.send({ events: records.slice(i, i + 4).map((r) => edge.raise(r.id, { value: 4, threshold: 3.5, ts: t + i })) });
    await waitFor('all delivered', () => hook.requests.length >= N, 20_000);
    await new Promise((r) => setTimeout(r, 500)); // a second send would arrive now
    const ids = hook.requests.map((r) => String(r.headers['x-yiwang-delivery']).split(':').slice(0, 3).join(':'));
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    // Both nodes took part in the work? Not guaranteed; what is guaranteed: one attempt row per message.
    expect(await countRows(a.store, 'notify_attempts')).toBe(N);
    expect(await countRows(a.store, 'notify_deliveries', "status = 'sent'")).toBe(N);
    // The alarms are visible through either node.
    expect((await apiJson<{ alarms: Alarm[] }>(b.httpPort, token, '/api/v1/alarms?state=open')).body.alarms).toHaveLength(N);
  });

  it('raises one edge_offline alarm when both nodes sweep the same silent edge at once', async () => {
    await edge.close();
    await waitFor('edge disconnected', async () => !(await a.store.edges.list()).find((e) => e.id === EDGE)!.connected, 5000);
    const info = (await a.store.edges.list()).find((e) => e.id === EDGE)!;
    const at = Math.max(info.statusTs!, info.lastBatchAt!) + 11_000;
    const sweepers = [a, b, a, b].map((n) => new AlarmSweeper(n.store, alarms, silentLogger, () => at));
    await Promise.all(sweepers.map((s) => s.sweep()));
    const off = (await apiJson<{ alarms: Alarm[] }>(b.httpPort, token, '/api/v1/alarms?kind=edge_offline')).body.alarms;
    expect(off).toHaveLength(1);
    const detail = (await apiJson<AlarmDetail>(a.httpPort, token, `/api/v1/alarms/${off[0]!.id}`)).body;
    expect(detail.history.map((h) => h.transition)).toEqual(['raised']);
  });
});
