// Frames parsed per second on one core, per station protocol: framing + CRC + decoding + mapping to
// samples, on realistic frames (a 9-factor HJ 212 water-quality upload; an SL 651 timed report with
// 6 elements). Run: npx tsx bench/protocols.ts
import { pathToFileURL } from 'node:url';
import type { DeviceProfile } from '../core/profiles.js';
import { dataCp, flag2017, frame, qnFor, segment } from '../protocols/hj212/encode.js';
import { Hj212Framer } from '../protocols/hj212/framer.js';
import { factorIndex, mapPacket } from '../protocols/hj212/map.js';
import { parseSegment } from '../protocols/hj212/parse.js';
import { reportBodyHex, uplink } from '../protocols/sl651/encode.js';
import { Sl651Framer } from '../protocols/sl651/framer.js';
import { elementIndex, mapMessage } from '../protocols/sl651/map.js';
import { parseBody } from '../protocols/sl651/parse.js';

export interface ProtocolBenchResult {
  protocol: 'hj212' | 'sl651';
  frames: number;
  bytesPerFrame: number;
  seconds: number;
  framesPerSecond: number;
  samplesPerFrame: number;
}

const WATER_FACTORS = ['w01018', 'w21003', 'w01001', 'w01009', 'w01010', 'w01014', 'w01003', 'w21011', 'w21001'];

function hj212Stream(n: number): { chunk: Buffer; profile: DeviceProfile } {
  const now = Date.UTC(2024, 2, 15, 2, 30);
  const frames: string[] = [];
  for (let i = 0; i < n; i++) {
    const items = Object.fromEntries(WATER_FACTORS.map((f, k) => [f, { Rtd: (10 + k + (i % 100) / 100).toFixed(2), Flag: 'N' }]));
    frames.push(frame(segment({ qn: qnFor(now + i), st: '21', cn: '2011', pw: '123456', mn: '010000A8900016F000169DC0', flag: flag2017(true), cp: dataCp(now, items) })));
  }
  const profile = { id: 'b', manufacturer: 'b', model: 'b', kind: 'station', protocol: 'hj212', points: WATER_FACTORS.map((f) => ({ name: f, metric: 'cod', hj212: { factor: f } })) } as DeviceProfile;
  return { chunk: Buffer.from(frames.join(''), 'latin1'), profile };
}

function sl651Stream(n: number): { chunk: Buffer; profile: DeviceProfile } {
  const now = Date.UTC(2024, 2, 15, 2, 30);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const body = reportBodyHex({
      serial: i & 0xffff,
      sendTime: now,
      station: '0012345678',
      category: 'H',
      obsTime: now,
      elements: [
        { id: 0x20, value: (i % 50) / 10 },
        { id: 0x26, value: 1234.5 + i / 10 },
        { id: 0x39, value: 12.345 },
        { id: 0x27, value: 123.456 },
        { id: 0x37, value: 0.85 },
        { id: 0x38, value: 12.45 },
      ],
    });
    parts.push(uplink('hex', { centre: 1, station: '0012345678', password: '1234', fn: 0x32 }, body));
  }
  const ids = ['20', '26', '39', '27', '37', '38'];
  const profile = { id: 'b', manufacturer: 'b', model: 'b', kind: 'station', protocol: 'sl651', points: ids.map((e) => ({ name: `e${e}`, metric: 'water_level', sl651: { element: e } })) } as DeviceProfile;
  return { chunk: Buffer.concat(parts), profile };
}

/** Feeds the stream in 1400-byte chunks (a TCP segment) and decodes every frame to samples. */
function runHj212(chunk: Buffer, idx: Map<string, string[]>): { frames: number; samples: number } {
  const framer = new Hj212Framer();
  let frames = 0;
  let samples = 0;
  for (let off = 0; off < chunk.length; off += 1400) {
    for (const ev of framer.push(chunk.subarray(off, off + 1400))) {
      if (!ev.ok) throw new Error(ev.detail);
      samples += mapPacket(parseSegment(ev.segment), 'd', idx).length;
      frames++;
    }
  }
  return { frames, samples };
}

function runSl651(chunk: Buffer, idx: Map<string, string[]>): { frames: number; samples: number } {
  const framer = new Sl651Framer();
  let frames = 0;
  let samples = 0;
  for (let off = 0; off < chunk.length; off += 1400) {
    for (const ev of framer.push(chunk.subarray(off, off + 1400))) {
      if (!ev.ok) throw new Error(ev.detail);
      samples += mapMessage(parseBody(ev.frame.fn, ev.frame.body, ev.frame.mode), 'd', idx).length;
      frames++;
    }
  }
  return { frames, samples };
}

function measure(protocol: 'hj212' | 'sl651', n: number, minSeconds: number): ProtocolBenchResult {
  const { chunk, profile } = protocol === 'hj212' ? hj212Stream(n) : sl651Stream(n);
  const idx = protocol === 'hj212' ? factorIndex(profile) : elementIndex(profile);
  const run = protocol === 'hj212' ? runHj212 : runSl651;
  run(chunk, idx); // warm-up (JIT)
  let frames = 0;
  let samples = 0;
  const t0 = process.hrtime.bigint();
  let seconds = 0;
  do {
    const r = run(chunk, idx);
    frames += r.frames;
    samples += r.samples;
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (seconds < minSeconds);
  return { protocol, frames, bytesPerFrame: Math.round(chunk.length / n), seconds, framesPerSecond: Math.round(frames / seconds), samplesPerFrame: samples / frames };
}

/** Frames/s on the calling thread (one core) for both protocols. */
export function benchProtocols(opts: { frames?: number; minSeconds?: number } = {}): ProtocolBenchResult[] {
  const n = opts.frames ?? 20_000;
  const min = opts.minSeconds ?? 2;
  return [measure('hj212', n, min), measure('sl651', n, min)];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of benchProtocols()) {
    console.log(`${r.protocol}: ${r.framesPerSecond.toLocaleString('en')} frames/s per core (${r.bytesPerFrame} B/frame, ${r.samplesPerFrame} samples/frame, ${r.frames} frames in ${r.seconds.toFixed(2)} s)`);
  }
}
