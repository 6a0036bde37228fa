import { describe, expect, it } from 'vitest';
import { decodeAck, decodeBatch, decodeEdgeStatus, encodeAck, encodeBatch, encodeEdgeStatus, SchemaError } from '../../schema/codec.js';
import { parseUplinkTopic, topics } from '../../schema/topics.js';
import { Aggregate, EventKind, Quality, Severity, Verdict, readingValue, type Batch } from '../../schema/types.js';

const batch: Batch = {
  edgeId: 'edge-village-01',
  batchId: 42,
  firstSeq: 9_007_199_254_000,
  lastSeq: 9_007_199_254_004,
  historical: true,
  sentAt: 1_795_000_000_123,
  readings: [
    { deviceId: 'wl-1', metric: 'water_level', number: 3.72, unit: 'm', ts: 1_795_000_000_000, seq: 9_007_199_254_000 },
    { deviceId: 'smoke-1', metric: 'smoke_alarm', boolean: false, unit: 'bool', ts: 1, seq: 9_007_199_254_001, quality: Quality.BAD, qualityReason: 'modbus timeout' },
    { deviceId: 'cam-1', metric: 'note', text: '夜间', unit: '', ts: 2, seq: 9_007_199_254_002, aggregate: Aggregate.AVG, periodS: 3600 },
  ],
  events: [
    { deviceId: 'wl-1', kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, message: 'water level above alarm level', ts: 3, seq: 9_007_199_254_003, code: 'water_level.alarm', metric: 'water_level', value: 4.3, threshold: 4.2 },
  ],
  records: [
    {
      id: '34010000001320000001',
      name: '村口球机',
      kind: 'camera',
      sharingScope: ['water', 'public_security'],
      location: { longitude: 117.2, latitude: 31.8, address: '合肥市某村', divisionCode: '340100' },
      site: { id: 'v1', name: '某村', type: 'village' },
      camera: { cameraType: 'dome', ptz: true, streamUris: ['rtsp://a/1', 'rtsp://a/2'], recordRetentionDays: 30 },
      seq: 9_007_199_254_004,
    },
  ],
  videoQuality: [
    { deviceId: 'cam-1', ts: 5, seq: 9_007_199_254_004, verdict: Verdict.FAULT, checks: [{ name: 'black', score: 0.98, verdict: Verdict.FAULT, detail: 'black 100%' }] },
  ],
  snapshots: [{ deviceId: 'cam-1', ts: 6, seq: 9_007_199_254_004, jpeg: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), width: 320, height: 180 }],
  stats: { bufferRows: 10, bufferBytes: 2048, droppedReadings: 3 },
};

describe('schema codec', () => {
  it('round-trips a Batch with every message type, 53-bit sequence numbers and oneof values', () => {
    const bytes = encodeBatch(batch);
    const back = decodeBatch(bytes);
    expect(back.edgeId).toBe(batch.edgeId);
    expect(back.firstSeq).toBe(batch.firstSeq);
    expect(back.lastSeq).toBe(batch.lastSeq);
    expect(typeof back.lastSeq).toBe('number');
    expect(back.historical).toBe(true);
    expect(back.readings!.map(readingValue)).toEqual([3.72, false, '夜间']);
    expect(back.readings![1]!.quality).toBe(Quality.BAD);
    expect(back.readings![1]!.qualityReason).toBe('modbus timeout');
    expect(back.readings![2]!.aggregate).toBe(Aggregate.AVG);
    expect(back.events![0]).toMatchObject(batch.events![0]!);
    expect(back.records![0]).toMatchObject(batch.records![0]!);
    expect(back.videoQuality![0]!.checks[0]!.verdict).toBe(Verdict.FAULT);
    expect(Buffer.from(back.snapshots![0]!.jpeg)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    expect(back.stats!.droppedReadings).toBe(3);
  });

  it('keeps a GOOD reading compact: default enum values are not encoded', () => {
    const one = (q?: 0 | 1 | 2) =>
      encodeBatch({ edgeId: 'e', batchId: 1, firstSeq: 1, lastSeq: 1, readings: [{ deviceId: 'd', metric: 'ph', number: 7, unit: 'pH', ts: 1, seq: 1, quality: q }] }).length;
    expect(one(Quality.GOOD)).toBe(one(undefined));
    expect(one(Quality.BAD)).toBeGreaterThan(one(Quality.GOOD));
  });

  it('round-trips Ack and EdgeStatus', () => {
    const ack = decodeAck(encodeAck({ edgeId: 'e1', batchId: 7, committed: [{ first: 1, last: 100 }], committedThrough: 100 }));
    expect(ack).toEqual({ edgeId: 'e1', batchId: 7, committed: [{ first: 1, last: 100 }], committedThrough: 100 });
    const st = decodeEdgeStatus(encodeEdgeStatus({ edgeId: 'e1', online: false, ts: 123 }));
    expect(st).toMatchObject({ edgeId: 'e1', online: false, ts: 123 });
  });

  it('rejects bytes that are not a Batch with a SchemaError naming the problem', () => {
    expect(() => decodeBatch(Buffer.from('{"edgeId":"e1"}'))).toThrow(SchemaError);
    expect(() => decodeBatch(Buffer.from([0x0a, 0xff]))).toThrow(/batch: not a valid protobuf Batch/);
  });
});

describe('uplink topics', () => {
  it('builds and parses per-edge topics', () => {
    expect(topics.batch('e-1')).toBe('yiwang/v1/edges/e-1/batch');
    expect(parseUplinkTopic('yiwang/v1/edges/e-1/ack')).toEqual({ edgeId: 'e-1', kind: 'ack' });
    expect(parseUplinkTopic('yiwang/v1/edges/e-1/other')).toBeUndefined();
    expect(parseUplinkTopic('yiwang/v1/edges/+/batch')).toBeUndefined();
    expect(parseUplinkTopic('yiwang/v2/edges/e/batch')).toBeUndefined();
  });
});
