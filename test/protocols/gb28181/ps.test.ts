// Media framing: real ffmpeg remuxes test streams (H.264 and H.265, no transcoding of ours) into MPEG-TS; our
// demuxer cuts frames, our PS muxer frames them the GB/T 28181 way, and ffprobe reads the result.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  crc32Mpeg2, packHeader, pesPackets, programStreamMap, psFrame, rfc4571Frame, RtpPacketizer, TsDemuxer, type AccessUnit,
} from '../../../protocols/gb28181/ps.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-ps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 2 s of a 320×240 10 fps test pattern, GOP 10, encoded by ffmpeg and muxed to MPEG-TS. */
function testTs(codec: 'libx264' | 'libx265'): Buffer {
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '2',
    '-c:v', codec, '-g', '10', '-bf', '0', '-pix_fmt', 'yuv420p', ...(codec === 'libx265' ? ['-x265-params', 'log-level=error'] : []),
    '-f', 'mpegts', 'pipe:1',
  ], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

function demux(ts: Buffer, chunk = 1000): AccessUnit[] {
  const out: AccessUnit[] = [];
  const d = new TsDemuxer((au) => out.push(au));
  for (let i = 0; i < ts.length; i += chunk) d.push(ts.subarray(i, i + chunk)); // arbitrary chunking, as from a pipe
  d.flush();
  return out;
}

function startCodes(b: Buffer, code: number): number[] {
  const at: number[] = [];
  for (let i = b.indexOf(Buffer.from([0, 0, 1, code])); i >= 0; i = b.indexOf(Buffer.from([0, 0, 1, code]), i + 4)) at.push(i);
  return at;
}

describe.each([['libx264', 'h264', 0x1b], ['libx265', 'hevc', 0x24]] as const)('%s → TS → PS', (encoder, name, streamType) => {
  it('cuts every frame, marks key frames, and writes a PS that ffprobe reads with the right codec and size', () => {
    const aus = demux(testTs(encoder));
    expect(aus).toHaveLength(20);
    expect(aus.filter((a) => a.keyframe)).toHaveLength(2);
    expect(aus[0]!.keyframe).toBe(true);
    expect(aus[1]!.pts - aus[0]!.pts).toBe(9000); // 10 fps at 90 kHz
    const ps = Buffer.concat(aus.map(psFrame));
    expect(startCodes(ps, 0xba)).toHaveLength(20);          // a pack header per frame
    const psms = startCodes(ps, 0xbc);
    expect(psms).toHaveLength(2);                           // a PSM before each key frame
    const psm = ps.subarray(psms[0]!, psms[0]! + 6 + ps.readUInt16BE(psms[0]! + 4));
    expect(psm[12]).toBe(streamType);
    expect(psm[13]).toBe(0xe0);
    expect(crc32Mpeg2(psm)).toBe(0);                        // CRC_32 over the PSM including its CRC is 0
    const file = join(dir, `${name}.ps`);
    writeFileSync(file, ps);
    const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { streams: Record<string, unknown>[]; format: Record<string, unknown> };
    expect(out.format.format_name).toBe('mpeg');
    expect(out.streams[0]).toMatchObject({ codec_name: name, width: 320, height: 240, r_frame_rate: '10/1', id: '0x1e0' });
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(decode.stderr).toBe(''); // decodes without a single complaint
  });
});

describe('PS and RTP details', () => {
  it('encodes 33-bit SCR and PTS values', () => {
    const scr = 2 ** 32 + 12_345;
    const b = packHeader(scr);
    const decoded = ((b[4]! >> 3) & 0x07) * 2 ** 30 + (((b[4]! & 0x03) << 28) | (b[5]! << 20) | ((b[6]! >> 3) << 15) | ((b[6]! & 0x03) << 13) | (b[7]! << 5) | (b[8]! >> 3));
    expect(decoded).toBe(scr);
    const [head] = pesPackets({ codec: 'h264', pts: scr, dts: scr, keyframe: false, data: Buffer.alloc(10) });
    const p = head!.subarray(9, 14);
    const pts = ((p[0]! >> 1) & 0x07) * 2 ** 30 + ((p[1]! << 22) | ((p[2]! >> 1) << 15) | (p[3]! << 7) | (p[4]! >> 1));
    expect(pts).toBe(scr);
    expect(head![7]).toBe(0x80); // PTS only when DTS = PTS
  });

  it('splits a frame larger than one PES, with PTS/DTS on the first only', () => {
    const data = Buffer.alloc(200_000, 7);
    const parts = pesPackets({ codec: 'h264', pts: 9000, dts: 6000, keyframe: true, data });
    const heads = parts.filter((_, i) => i % 2 === 0);
    expect(heads).toHaveLength(4);
    expect(heads[0]![7]).toBe(0xc0);
    expect(heads.slice(1).every((x) => x[7] === 0 && x[8] === 0)).toBe(true);
    for (let i = 0; i < heads.length; i++) expect(heads[i]!.readUInt16BE(4)).toBe(heads[i]!.length - 6 + parts[i * 2 + 1]!.length);
    expect(Buffer.concat(parts.filter((_, i) => i % 2 === 1)).equals(data)).toBe(true);
    expect(programStreamMap('h265')[12]).toBe(0x24);
  });

  it('packetizes a frame into RTP with one timestamp, the marker on the last packet and wrapping sequence numbers', () => {
    const rtp = new RtpPacketizer(100000042, 96, 1400, 0xfffe);
    const pkts = rtp.packets(Buffer.alloc(3000, 1), 2 ** 32 + 90);
    expect(pkts.map((p) => p.length - 12)).toEqual([1400, 1400, 200]);
    expect(pkts.map((p) => p.readUInt16BE(2))).toEqual([0xfffe, 0xffff, 0]);
    expect(pkts.map((p) => (p[1]! & 0x80) !== 0)).toEqual([false, false, true]);
    expect(pkts.every((p) => (p[1]! & 0x7f) === 96 && p.readUInt32BE(8) === 100000042 && p.readUInt32BE(4) === 90 && p[0] === 0x80)).toBe(true);
    const framed = rfc4571Frame(pkts[2]!);
    expect(framed.readUInt16BE(0)).toBe(212);
    expect(framed.subarray(2).equals(pkts[2]!)).toBe(true);
  });

  it('resynchronises after bytes that are not TS and bounds a runaway frame', () => {
    const ts = testTs('libx264');
    const aus = demux(Buffer.concat([Buffer.from('garbage!'), ts]));
    expect(aus).toHaveLength(20);
    const small: AccessUnit[] = [];
    const d = new TsDemuxer((au) => small.push(au), 2000); // frames above 2 kB are dropped, not buffered
    d.push(ts);
    d.flush();
    expect(small.length).toBeLessThan(20);
    expect(small.every((a) => a.data.length <= 2000)).toBe(true);
  });
});
