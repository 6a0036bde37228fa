// Media framing for GB/T 28181 live view: MPEG-TS (what ffmpeg remuxes the camera's RTSP stream into, without
// transcoding) → access units → MPEG-PS frames as GB/T 28181 devices send them (pack header on every frame;
// system header and program stream map before every key frame) → RTP (PT 96, the platform's SSRC), with RFC 4571
// framing over TCP. Why not ffmpeg's own PS muxer: see README.md ("Media").

export type VideoCodec = 'h264' | 'h265';

/** PSM / PMT stream_type of the codec (ISO/IEC 13818-1; GB/T 28181 Annex C uses the same values). */
export const STREAM_TYPE: Record<VideoCodec, number> = { h264: 0x1b, h265: 0x24 };
const CODEC_OF_STREAM_TYPE = new Map<number, VideoCodec>([[0x1b, 'h264'], [0x24, 'h265']]);

export interface AccessUnit {
  codec: VideoCodec;
  pts: number;        // 90 kHz, 33 bits
  dts: number;        // 90 kHz (= pts when the stream has no DTS)
  keyframe: boolean;
  data: Buffer;       // Annex B elementary stream of one frame
}

const TS_PACKET = 188;

/**
 * Demultiplexes the first H.264/H.265 stream of an MPEG-TS byte stream into access units (one PES per frame, as
 * ffmpeg's mpegts muxer writes video). Anything else in the multiplex is skipped. A frame is emitted when the
 * next one starts, so the output lags the input by one frame.
 */
export class TsDemuxer {
  private rest = Buffer.alloc(0);
  private pmtPid = -1;
  private videoPid = -1;
  private codec?: VideoCodec;
  private pes: Buffer[] = [];
  private pesBytes = 0;
  /** Bytes that were not valid TS (lost sync); the demuxer resynchronises on the next 0x47. */
  skippedBytes = 0;

  constructor(
    private readonly onUnit: (au: AccessUnit) => void,
    private readonly maxFrameBytes = 8 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let i = 0;
    while (buf.length - i >= TS_PACKET) {
      if (buf[i] !== 0x47) {
        const next = buf.indexOf(0x47, i + 1);
        const skip = (next < 0 ? buf.length : next) - i;
        this.skippedBytes += skip;
        i += skip;
        continue;
      }
      this.packet(buf.subarray(i, i + TS_PACKET));
      i += TS_PACKET;
    }
    this.rest = Buffer.from(buf.subarray(i));
    buf = Buffer.alloc(0);
  }

  /** Emits the frame still being collected (end of stream). */
  flush(): void {
    this.finishPes();
  }

  private packet(p: Buffer): void {
    const pusi = (p[1]! & 0x40) !== 0;
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const afc = (p[3]! >> 4) & 0x3;
    let off = 4;
    if (afc === 2 || afc === 3) off += 1 + p[4]!;
    if (afc === 1 || afc === 3) {
      if (off >= TS_PACKET) return;
      const payload = p.subarray(off);
      if (pid === 0) this.pat(payload, pusi);
      else if (pid === this.pmtPid) this.pmt(payload, pusi);
      else if (pid === this.videoPid) {
        if (pusi) this.finishPes();
        if (pusi || this.pes.length) {
          this.pesBytes += payload.length;
          if (this.pesBytes > this.maxFrameBytes) {
            this.pes = []; // a frame this large is corrupt input: drop it rather than grow without bound
            this.pesBytes = 0;
            return;
          }
          this.pes.push(Buffer.from(payload));
        }
      }
    }
  }

  private section(payload: Buffer, pusi: boolean): Buffer | undefined {
    if (!pusi) return undefined; // PAT/PMT fit one packet in what ffmpeg writes
    const start = 1 + payload[0]!;
    const s = payload.subarray(start);
    if (s.length < 3) return undefined;
    const len = ((s[1]! & 0x0f) << 8) | s[2]!;
    return s.length >= 3 + len ? s.subarray(0, 3 + len) : undefined;
  }

  private pat(payload: Buffer, pusi: boolean): void {
    const s = this.section(payload, pusi);
    if (!s || s[0] !== 0x00) return;
    const end = s.length - 4; // CRC
    for (let i = 8; i + 4 <= end; i += 4) {
      const program = (s[i]! << 8) | s[i + 1]!;
      if (program !== 0) {
        this.pmtPid = ((s[i + 2]! & 0x1f) << 8) | s[i + 3]!;
        return;
      }
    }
  }

  private pmt(payload: Buffer, pusi: boolean): void {
    const s = this.section(payload, pusi);
    if (!s || s[0] !== 0x02) return;
    const end = s.length - 4;
    const infoLen = ((s[10]! & 0x0f) << 8) | s[11]!;
    for (let i = 12 + infoLen; i + 5 <= end; ) {
      const type = s[i]!;
      const pid = ((s[i + 1]! & 0x1f) << 8) | s[i + 2]!;
      const esInfo = ((s[i + 3]! & 0x0f) << 8) | s[i + 4]!;
      const codec = CODEC_OF_STREAM_TYPE.get(type);
      if (codec && this.videoPid < 0) {
        this.videoPid = pid;
        this.codec = codec;
      }
      i += 5 + esInfo;
    }
  }

  private finishPes(): void {
    if (!this.pes.length || !this.codec) {
      this.pes = [];
      this.pesBytes = 0;
      return;
    }
    const pes = Buffer.concat(this.pes);
    this.pes = [];
    this.pesBytes = 0;
    if (pes.length < 9 || pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) return;
    const flags = pes[7]!;
    const headerLen = pes[8]!;
    const pts = flags & 0x80 ? readTimestamp(pes, 9) : undefined;
    const dts = (flags & 0xc0) === 0xc0 ? readTimestamp(pes, 14) : pts;
    const data = pes.subarray(9 + headerLen);
    if (pts === undefined || !data.length) return;
    this.onUnit({ codec: this.codec, pts, dts: dts ?? pts, keyframe: isKeyframe(this.codec, data), data });
  }
}

function readTimestamp(b: Buffer, i: number): number {
  // 33 bits spread over 5 bytes with marker bits; beyond 32 bits, so no bitwise ops on the top part
  return (((b[i]! >> 1) & 0x07) * 2 ** 30) + (((b[i + 1]! << 7) | (b[i + 2]! >> 1)) << 15) + ((b[i + 3]! << 7) | (b[i + 4]! >> 1));
}

/** NAL unit types in an Annex B buffer. */
export function nalTypes(codec: VideoCodec, data: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      const h = data[i + 3]!;
      out.push(codec === 'h264' ? h & 0x1f : (h >> 1) & 0x3f);
      i += 3;
    }
  }
  return out;
}

/** An IDR (H.264 type 5) or IRAP (H.265 types 16–23) picture starts a group of pictures. */
export function isKeyframe(codec: VideoCodec, data: Buffer): boolean {
  return nalTypes(codec, data).some((t) => (codec === 'h264' ? t === 5 : t >= 16 && t <= 23));
}

// ---- MPEG-PS (ISO/IEC 13818-1 §2.5) ----------------------------------------------------------------------

const VIDEO_STREAM_ID = 0xe0;
/** Bytes of ES data per PES packet: below the 16-bit PES length, with room for the header. */
const MAX_PES_PAYLOAD = 65_000;
/** program_mux_rate in units of 50 bytes/s; informative for receivers, GB/T 28181 devices write a constant. */
const MUX_RATE = 6106;

/** CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, not reflected, no final xor) as the PSM needs. */
export function crc32Mpeg2(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

export function packHeader(scr: number): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt32BE(0x000001ba, 0);
  const hi = Math.floor(scr / 2 ** 30) & 0x07; // SCR bits 32..30
  const lo = scr % 2 ** 30;                     // SCR bits 29..0
  b[4] = 0x44 | (hi << 3) | ((lo >>> 28) & 0x03);
  b[5] = (lo >>> 20) & 0xff;
  b[6] = (((lo >>> 15) & 0x1f) << 3) | 0x04 | ((lo >>> 13) & 0x03);
  b[7] = (lo >>> 5) & 0xff;
  b[8] = ((lo & 0x1f) << 3) | 0x04; // SCR extension = 0
  b[9] = 0x01;
  b[10] = (MUX_RATE >>> 14) & 0xff;
  b[11] = (MUX_RATE >>> 6) & 0xff;
  b[12] = ((MUX_RATE & 0x3f) << 2) | 0x03;
  b[13] = 0xf8; // reserved + pack_stuffing_length 0
  return b;
}

export function systemHeader(): Buffer {
  const body = Buffer.from([
    0x80 | ((MUX_RATE >>> 15) & 0x7f), (MUX_RATE >>> 7) & 0xff, ((MUX_RATE & 0x7f) << 1) | 0x01, // rate_bound
    0x04,                  // audio_bound 1 (room for G.711 later), fixed_flag 0, CSPS_flag 0
    0xe1,                  // system_audio_lock, system_video_lock, marker, video_bound 1
    0x7f,                  // packet_rate_restriction 0, reserved
    VIDEO_STREAM_ID, 0xe4, 0x00, // P-STD buffer: scale 1 (1024 bytes), size 1024 → 1 MiB
  ]);
  const head = Buffer.alloc(6);
  head.writeUInt32BE(0x000001bb, 0);
  head.writeUInt16BE(body.length, 4);
  return Buffer.concat([head, body]);
}

export function programStreamMap(codec: VideoCodec): Buffer {
  const b = Buffer.alloc(6 + 10 + 4);
  b.writeUInt32BE(0x000001bc, 0);
  b.writeUInt16BE(b.length - 6, 4);
  b[6] = 0xe0; // current_next_indicator 1, reserved, version 0
  b[7] = 0xff; // reserved, marker
  b.writeUInt16BE(0, 8);  // program_stream_info_length
  b.writeUInt16BE(4, 10); // elementary_stream_map_length
  b[12] = STREAM_TYPE[codec];
  b[13] = VIDEO_STREAM_ID;
  b.writeUInt16BE(0, 14); // elementary_stream_info_length
  b.writeUInt32BE(crc32Mpeg2(b.subarray(0, 16)), 16);
  return b;
}

function writeTimestamp(b: Buffer, i: number, prefix: number, ts: number): void {
  const hi = Math.floor(ts / 2 ** 30) & 0x07;
  const lo = ts % 2 ** 30;
  b[i] = (prefix << 4) | (hi << 1) | 0x01;
  b[i + 1] = (lo >>> 22) & 0xff;
  b[i + 2] = (((lo >>> 15) & 0x7f) << 1) | 0x01;
  b[i + 3] = (lo >>> 7) & 0xff;
  b[i + 4] = ((lo & 0x7f) << 1) | 0x01;
}

/** PES packets of one frame: the first carries PTS (and DTS when it differs), the rest only data. */
export function pesPackets(au: AccessUnit): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, first = true; off < au.data.length || first; first = false) {
    const withDts = first && au.dts !== au.pts;
    const headerData = first ? (withDts ? 10 : 5) : 0;
    const n = Math.min(MAX_PES_PAYLOAD, au.data.length - off);
    const head = Buffer.alloc(9 + headerData);
    head.writeUInt32BE(0x00000100 | VIDEO_STREAM_ID, 0);
    head.writeUInt16BE(3 + headerData + n, 4);
    head[6] = first ? 0x84 : 0x80; // '10', data_alignment_indicator on the first
    head[7] = first ? (withDts ? 0xc0 : 0x80) : 0x00;
    head[8] = headerData;
    if (first) writeTimestamp(head, 9, withDts ? 0x3 : 0x2, au.pts);
    if (withDts) writeTimestamp(head, 14, 0x1, au.dts);
    out.push(head, au.data.subarray(off, off + n));
    off += n;
  }
  return out;
}

/** One frame as a GB/T 28181 PS unit: pack header [+ system header + PSM on key frames] + PES packets. */
export function psFrame(au: AccessUnit): Buffer {
  const parts = [packHeader(au.dts)];
  if (au.keyframe) parts.push(systemHeader(), programStreamMap(au.codec));
  parts.push(...pesPackets(au));
  return Buffer.concat(parts);
}

// ---- RTP (RFC 3550) ----------------------------------------------------------------------------------------

export const RTP_PAYLOAD_TYPE = 96;
/** Payload bytes per RTP packet: 1,400 keeps IP packets under a 1,500-byte MTU with room for tunnels. */
export const RTP_MAX_PAYLOAD = 1400;

export class RtpPacketizer {
  private seq: number;

  constructor(
    private readonly ssrc: number,
    private readonly payloadType = RTP_PAYLOAD_TYPE,
    private readonly maxPayload = RTP_MAX_PAYLOAD,
    firstSeq = Math.floor(Math.random() * 0x10000),
  ) {
    this.seq = firstSeq & 0xffff;
  }

  /** RTP packets carrying one PS frame: same timestamp, marker bit on the last. */
  packets(frame: Buffer, timestamp90k: number): Buffer[] {
    const out: Buffer[] = [];
    const ts = timestamp90k % 2 ** 32;
    for (let off = 0; off < frame.length; off += this.maxPayload) {
      const chunk = frame.subarray(off, off + this.maxPayload);
      const last = off + this.maxPayload >= frame.length;
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = (last ? 0x80 : 0) | this.payloadType;
      h.writeUInt16BE(this.seq, 2);
      h.writeUInt32BE(ts, 4);
      h.writeUInt32BE(this.ssrc >>> 0, 8);
      this.seq = (this.seq + 1) & 0xffff;
      out.push(Buffer.concat([h, chunk]));
    }
    return out;
  }
}

/** RFC 4571: each RTP packet on a TCP connection is preceded by its 16-bit length. */
export function rfc4571Frame(rtp: Buffer): Buffer {
  const b = Buffer.alloc(2 + rtp.length);
  b.writeUInt16BE(rtp.length, 0);
  rtp.copy(b, 2);
  return b;
}
