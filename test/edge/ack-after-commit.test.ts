// "Acknowledged" means "on disk": a device that got an MQTT PUBACK, an HJ 212 data answer or an SL 651
// confirmation may forget the value, so the edge must have committed it first. Each case runs the real edge
// process, sends a stream of uniquely valued readings, SIGKILLs the edge the moment acknowledgements arrive,
// and then looks into the buffer file: every acknowledged value must be there.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/net.js';
import { hashSecret } from '../../core/secrets.js';
import { EdgeBuffer, decodeChunk } from '../../edge/buffer/index.js';
import { dataCp, flag2017, frame, qnFor, segment } from '../../protocols/hj212/encode.js';
import { Hj212Framer } from '../../protocols/hj212/framer.js';
import { parseSegment } from '../../protocols/hj212/parse.js';
import { reportBodyHex, uplink } from '../../protocols/sl651/encode.js';
import { Sl651Framer } from '../../protocols/sl651/framer.js';
import { EdgeProcess, writeEdgeConfig } from '../fixtures/edge-process.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-ack-'));
const ports = { admin: 0, mqtt: 0, hj212: 0, sl651: 0, uplink: 0 };
let configFile = '';

beforeAll(async () => {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  configFile = writeEdgeConfig(dir, {
    edge: { id: 'edge-ack' },
    site: { id: 's1', type: 'water_station' },
    // No collector listens here: everything the edge accepts stays in its buffer.
    uplink: { url: `mqtt://127.0.0.1:${ports.uplink}`, password: 'x' },
    // The longest commit interval: before the fix an acknowledged value lived up to 1 s in memory only.
    buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 1000 },
    admin: { host: '127.0.0.1', port: ports.admin },
    protocols: {
      mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: ports.mqtt, users: [{ username: 'dev', passwordHash: hashSecret('dev-pass') }] } },
      hj212: { host: '127.0.0.1', port: ports.hj212 },
      sl651: { host: '127.0.0.1', port: ports.sl651 },
    },
    devices: [
      { id: 'AQ-1', profile: 'air-quality-mqtt', connection: { broker: 'local', topicId: 'aq1' } },
      { id: 'HJ-1', profile: 'hj212-water-quality-station', connection: { mn: 'HJACK0001', password: '123456' } },
      { id: 'SL-1', profile: 'sl651-hydrology-station', connection: { station: '0012345678', password: '1234' } },
    ],
  });
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Numbers stored in the buffer for one device and metric. */
function storedValues(deviceId: string, metric: string): Set<number> {
  const b = EdgeBuffer.open({ dir: join(dir, 'buffer'), maxBytes: 1e9 });
  try {
    const out = new Set<number>();
    for (const c of b.listChunks(0, 1e6)) {
      for (const r of decodeChunk(c.payload).readings ?? []) if (r.deviceId === deviceId && r.metric === metric && r.number !== undefined) out.add(r.number);
    }
    return out;
  } finally {
    b.close();
  }
}

async function startEdge(): Promise<EdgeProcess> {
  return new EdgeProcess(configFile, ports.admin).ready();
}

const missing = (acked: Iterable<number>, stored: Set<number>) => [...acked].filter((v) => !stored.has(v));

const STATION_FRAMES = 2000;

/**
 * Starts the edge, writes a station's frames over one TCP connection, and SIGKILLs the edge as soon as a
 * quarter of them are answered. Returns the values the answers acknowledged (`answersOf` decodes them).
 */
async function killAfterAnswers(port: number, frames: Buffer, answersOf: (data: Buffer) => number[]): Promise<number[]> {
  const edge = await startEdge();
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.on('error', () => {});
  const answered: number[] = [];
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      answered.push(...answersOf(d));
      if (answered.length >= STATION_FRAMES / 4) {
        socket.destroy();
        edge.child.kill('SIGKILL');
      }
    });
    socket.once('close', () => resolve());
  });
  socket.write(frames);
  await done;
  await edge.exited;
  expect(answered.length).toBeGreaterThanOrEqual(STATION_FRAMES / 4);
  return answered;
}

describe('acknowledged only after the buffer commit (kill -9 right after the acknowledgements)', () => {
  it('MQTT QoS 1: every PUBACKed value is in the buffer after a kill -9', async () => {
    const edge = await startEdge();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { username: 'dev', password: 'dev-pass', reconnectPeriod: 0 });
    client.on('error', () => {});
    const N = 4000;
    const acked: number[] = [];
    let killed = false;
    const allSent = new Promise<void>((resolve) => {
      for (let i = 1; i <= N; i++) {
        const payload = JSON.stringify({ pm25: i, pm10: 50, so2: 0.01, no2: 0.03, o3: 0.05, co: 0.4, env: { t: 20, rh: 50, p: 101 }, noise: 50 });
        client.publish('aq/aq1/data', payload, { qos: 1 }, (err) => {
          if (err) return;
          acked.push(i);
          if (!killed && acked.length >= N / 2) {
            killed = true;
            edge.child.kill('SIGKILL'); // at once, while PUBACKs keep arriving
          }
          if (i === N) resolve();
        });
      }
      client.once('close', () => resolve());
    });
    await allSent;
    await edge.exited;
    await client.endAsync(true);
    expect(killed).toBe(true);
    expect(acked.length).toBeGreaterThanOrEqual(N / 2);
    expect(missing(acked, storedValues('AQ-1', 'pm2_5'))).toEqual([]);
  }, 60_000);

  it('HJ 212: every value answered with a 9014 is in the buffer after a kill -9', async () => {
    const base = Date.now() - 3_600_000;
    const valueOfQn = new Map<string, number>();
    let stream = '';
    for (let i = 1; i <= STATION_FRAMES; i++) {
      const at = base + i * 1000;
      const qn = qnFor(at);
      valueOfQn.set(qn, i);
      stream += frame(segment({ qn, st: '21', cn: '2011', pw: '123456', mn: 'HJACK0001', flag: flag2017(true), cp: dataCp(at, { w01018: { Rtd: i, Flag: 'N' } }) }));
    }
    const framer = new Hj212Framer();
    const answered = await killAfterAnswers(ports.hj212, Buffer.from(stream, 'latin1'), (d) =>
      framer.push(d).flatMap((ev) => (ev.ok ? [valueOfQn.get(parseSegment(ev.segment).qn ?? '')] : [])).filter((v): v is number => v !== undefined),
    );
    expect(missing(answered, storedValues('HJ-1', 'cod'))).toEqual([]);
  }, 60_000);

  it('SL 651: every report confirmed is in the buffer after a kill -9', async () => {
    const base = Date.now() - 4 * 3_600_000;
    const frames: Buffer[] = [];
    for (let i = 1; i <= STATION_FRAMES; i++) {
      const at = base + i * 5000;
      const body = reportBodyHex({ serial: i, sendTime: at, station: '0012345678', category: 'H', obsTime: at - (at % 60_000), elements: [{ id: 0x39, value: i / 100 }] });
      frames.push(uplink('hex', { centre: 1, station: '0012345678', password: '1234', fn: 0x33 }, body));
    }
    const framer = new Sl651Framer();
    // A confirmation carries the report's serial, which is the water level in cm.
    const confirmed = await killAfterAnswers(ports.sl651, Buffer.concat(frames), (d) => framer.push(d).flatMap((ev) => (ev.ok ? [ev.frame.body.readUInt16BE(0) / 100] : [])));
    expect(missing(confirmed, storedValues('SL-1', 'water_level'))).toEqual([]);
  }, 60_000);
});
