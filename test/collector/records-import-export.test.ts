// The registrar's spreadsheet round trip through the real collector: GB18030 and UTF-8-with-BOM uploads,
// UTF-8 (BOM) and GB18030 exports, and custom metric definitions stored with the record and served back.
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../collector/index.js';
import { decodeCsvBytes, recordsFromCsv } from '../../core/records.js';
import type { DeviceRecord } from '../../schema/types.js';

/** A Buffer as a fetch body. */
const body = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
import { api, apiJson, startTestCollector, tempDir, TestEdge } from './helpers.js';

describe('records import/export encodings and custom metrics', () => {
  const tmp = tempDir();
  let c: Collector;
  let edge: TestEdge;
  let admin = '';
  let water = '';

  beforeAll(async () => {
    c = await startTestCollector(tmp.dir);
    const pw = await c.addEdge('edge-csv');
    admin = await c.createToken({ name: 'ops', admin: true });
    water = await c.createToken({ name: 'water-bureau', bureau: 'water' });
    edge = await TestEdge.connect(c.mqttPort!, 'edge-csv', pw);
    const record: DeviceRecord = {
      id: 'P-1', name: '一号泵', sharingScope: ['water'], seq: 1,
      customMetrics: [{ name: 'x_pump_starts', unit: 'count', zh: '水泵启动次数', en: 'Pump starts', type: 'number', rangeMin: 0, rangeMax: 100000 }],
    };
    await edge.send({ edgeId: 'edge-csv', batchId: 1, firstSeq: 1, lastSeq: 2, records: [record], readings: [{ deviceId: 'P-1', metric: 'x_pump_starts', number: 42, unit: 'count', ts: Date.now(), seq: 2 }] });
  });
  afterAll(async () => {
    await edge?.close();
    await c?.stop();
    tmp.remove();
  });

  it('imports what Excel on Chinese Windows saves and says which encoding it read', async () => {
    const csv = '设备编码,设备名称,共享范围,安装地址\r\nGB-1,前池水位,水务/应急,井岗路1号\r\n';
    const gb = await apiJson<{ imported: number; encoding: string }>(c.httpPort, admin, '/api/v1/records/import', { method: 'POST', body: body(iconv.encode(csv, 'gb18030')) });
    expect(gb.body).toMatchObject({ imported: 1, encoding: 'GB18030' });
    const bom = await apiJson<{ imported: number; encoding: string }>(c.httpPort, admin, '/api/v1/records/import', { method: 'POST', body: body(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv.replace('GB-1', 'U8-1'))])) });
    expect(bom.body).toMatchObject({ imported: 1, encoding: 'UTF-8 with BOM' });
    const rec = await apiJson<DeviceRecord>(c.httpPort, water, '/api/v1/devices/GB-1');
    expect(rec.body).toMatchObject({ name: '前池水位', sharingScope: ['water', 'emergency'], location: { address: '井岗路1号' } });
    const garbled = await apiJson<{ imported: number; errors: { message: string }[] }>(c.httpPort, admin, '/api/v1/records/import', { method: 'POST', body: body(iconv.encode(csv, 'big5')) });
    expect(garbled.status).toBe(400);
    expect(garbled.body.errors[0]!.message).toMatch(/read as GB18030; .*encoding that may be the problem/);
  });

  it('exports UTF-8 with a BOM by default and GB18030 on request', async () => {
    const utf8 = Buffer.from(await (await api(c.httpPort, admin, '/api/v1/records/export?format=csv')).arrayBuffer());
    expect(decodeCsvBytes(utf8).encoding).toBe('UTF-8 with BOM');
    const res = await api(c.httpPort, admin, '/api/v1/records/export?format=csv&encoding=gb18030');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=gb18030');
    const gb = Buffer.from(await res.arrayBuffer());
    expect(decodeCsvBytes(gb).encoding).toBe('GB18030');
    expect(recordsFromCsv(gb).records.find((r) => r.id === 'GB-1')?.name).toBe('前池水位');
    expect((await api(c.httpPort, admin, '/api/v1/records/export?format=csv&encoding=latin1')).status).toBe(400);
  });

  it('stores custom metric definitions with the record and serves them with the device', async () => {
    const dev = await apiJson<DeviceRecord & { metrics?: { metric: string }[] }>(c.httpPort, water, '/api/v1/devices/P-1');
    expect(dev.body.customMetrics).toEqual([{ name: 'x_pump_starts', unit: 'count', zh: '水泵启动次数', en: 'Pump starts', type: 'number', rangeMin: 0, rangeMax: 100000 }]);
    const list = await apiJson<{ devices: DeviceRecord[] }>(c.httpPort, water, '/api/v1/devices');
    expect(list.body.devices.find((d) => d.id === 'P-1')?.customMetrics?.[0]?.zh).toBe('水泵启动次数');
  });
});
