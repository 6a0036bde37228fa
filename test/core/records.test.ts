import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../core/csv.js';
import { RECORD_COLUMNS, recordsFromCsv, recordsToCsv, validateRecord } from '../../core/records.js';
import type { DeviceRecord } from '../../schema/types.js';

const camera: DeviceRecord = {
  id: '34010200001320000001',
  name: '村口球机, 东侧',
  kind: 'camera',
  manufacturer: '海康威视',
  model: 'DS-2DE4425IW',
  location: { longitude: 117.27, latitude: 31.86, address: '安徽省合肥市某村村口', divisionCode: '340102' },
  site: { id: 'v-001', name: '某村', type: 'village' },
  scenario: '防汛监测',
  industry: '水利',
  sharingScope: ['water', 'public_security'],
  installedDate: '2026-05-01',
  maintainer: '某区数据局',
  maintainerContact: '0551-12345678',
  lifecycle: 'in_use',
  runtimeStatus: 'online',
  camera: { cameraType: 'dome', fillLight: 'infrared', direction: 'SE', encoding: 'H.265', ptz: true, recordRetentionDays: 30 },
};
const sensor: DeviceRecord = { id: 'v001-wl-01', name: '河道水位计', kind: 'sensor', profileId: 'radar-level-modbus', sharingScope: ['water'], lifecycle: 'under_repair' };

describe('一机一档 records', () => {
  it('accepts a complete camera record and a site-scoped sensor id', () => {
    expect(validateRecord(camera)).toEqual([]);
    expect(validateRecord(sensor)).toEqual([]);
  });

  it('reports each bad field with its path', () => {
    const issues = validateRecord({
      id: '3401020000132000001X',
      kind: 'robot',
      location: { longitude: 190, latitude: 31, divisionCode: '34' },
      installedDate: '2026/05/01',
      sharingScope: ['Water Bureau'],
      camera: { cameraType: 'fisheye', direction: 'up' },
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['id', 'kind', 'location.longitude', 'location.divisionCode', 'installedDate', 'sharingScope[0]', 'camera.cameraType', 'camera.direction']),
    );
    expect(issues.find((i) => i.path === 'id')!.message).toContain('non-digit "X" at position 20');
  });

  it('a camera must carry a camera type code', () => {
    const issues = validateRecord({ ...camera, id: '34010200001340000001' });
    expect(issues[0]!.message).toContain('type code 134');
  });

  it('exports CSV with Chinese headers and Chinese enumeration labels, Excel-ready', () => {
    const csv = recordsToCsv([camera, sensor]);
    expect(csv.startsWith('\uFEFF设备编码,设备名称,设备类型')).toBe(true);
    const rows = parseCsv(csv);
    expect(rows).toHaveLength(3);
    const col = (name: string) => rows[0]!.indexOf(name);
    expect(rows[1]![col('设备名称')]).toBe('村口球机, 东侧');
    expect(rows[1]![col('摄像机类型')]).toBe('球机');
    expect(rows[1]![col('补光属性')]).toBe('红外');
    expect(rows[1]![col('监视方位')]).toBe('东南');
    expect(rows[1]![col('共享范围')]).toBe('水务/公安');
    expect(rows[1]![col('站点类型')]).toBe('村');
    expect(rows[2]![col('设备状态')]).toBe('维修');
    expect(rows[0]).toHaveLength(RECORD_COLUMNS.length);
  });

  it('imports its own export back, and reports bad rows by line number', () => {
    const back = recordsFromCsv(recordsToCsv([camera, sensor]));
    expect(back.errors).toEqual([]);
    expect(back.records[0]).toMatchObject({ id: camera.id, sharingScope: ['water', 'public_security'], camera: { cameraType: 'dome', direction: 'SE', ptz: true } });
    expect(back.records[1]).toMatchObject({ id: sensor.id, lifecycle: 'under_repair' });
    const bad = recordsFromCsv('设备编码,设备名称,经度\r\n34010200001320000001,a,117\r\n1234,b,abc\r\n34010200001320000001,c,1\r\n');
    expect(bad.records).toHaveLength(1);
    expect(bad.errors.map((e) => e.row)).toEqual([3, 4]);
    expect(bad.errors[0]!.message).toContain('location.longitude: is not a number');
    expect(bad.errors[1]!.message).toContain('duplicate device id');
  });
});

describe('credentials never travel in records', () => {
  it('strips user:password and password-like query parameters from camera URIs', async () => {
    const { redactRecordSecrets, withoutCredentials } = await import('../../core/records.js');
    expect(withoutCredentials('rtsp://admin:s3cret@10.0.0.5:554/Streaming/Channels/101')).toBe('rtsp://10.0.0.5:554/Streaming/Channels/101');
    expect(withoutCredentials('http://10.0.0.5/cgi-bin/snapshot.cgi?channel=1&user=admin&password=s3cret')).toBe('http://10.0.0.5/cgi-bin/snapshot.cgi?channel=1');
    const r = redactRecordSecrets({ id: 'c', camera: { streamUris: ['rtsp://u:p@h/1'], snapshotUri: 'http://u:p@h/snap.jpg' } });
    expect(JSON.stringify(r)).not.toMatch(/u:p@/);
  });
});
