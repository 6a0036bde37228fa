// Snapshots: the camera's ONVIF snapshot URI over HTTP (digest or basic auth), else one frame of the
// stream through ffmpeg; then a thumbnail (scale 320:-2) re-encoded at lower quality until it fits.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { rtspInputOptions } from './probe.js';
import { runFfmpeg } from './run-ffmpeg.js';

export interface Jpeg {
  jpeg: Buffer;
  width?: number;
  height?: number;
}

function get(url: string, headers: Record<string, string>, timeoutMs: number, maxBytes: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > maxBytes) req.destroy(new Error(`snapshot larger than ${maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`snapshot: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** RFC 7616 digest response for one GET (MD5, qop=auth when offered). */
export function digestHeader(challenge: string, method: string, uri: string, user: string, pass: string): string {
  const p = Object.fromEntries([...challenge.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const ha1 = md5(`${user}:${p.realm ?? ''}:${pass}`);
  const ha2 = md5(`${method}:${uri}`);
  const qop = p.qop?.split(",").map((q: string) => q.trim()).includes('auth') ? 'auth' : undefined;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const response = qop ? md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
  let h = `Digest username="${user}", realm="${p.realm ?? ''}", nonce="${p.nonce ?? ''}", uri="${uri}", response="${response}"`;
  if (p.opaque) h += `, opaque="${p.opaque}"`;
  if (qop) h += `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
  return h;
}

/** GET the ONVIF snapshot URI, answering a 401 challenge with digest (or basic) auth. */
export async function fetchSnapshot(url: string, user: string | undefined, pass: string | undefined, timeoutMs: number): Promise<Buffer> {
  const limit = 20 * 1024 * 1024;
  let r = await get(url, {}, timeoutMs, limit);
  if (r.status === 401 && user !== undefined) {
    const challenge = String(r.headers['www-authenticate'] ?? '');
    const u = new URL(url);
    const auth = /^digest/i.test(challenge)
      ? digestHeader(challenge, 'GET', u.pathname + u.search, user, pass ?? '')
      : `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
    r = await get(url, { Authorization: auth }, timeoutMs, limit);
  }
  if (r.status === 401) throw new Error('snapshot: authentication rejected (401)');
  if (r.status !== 200) throw new Error(`snapshot: HTTP ${r.status}`);
  if (r.body[0] !== 0xff || r.body[1] !== 0xd8) throw new Error('snapshot: answer is not a JPEG');
  return r.body;
}

/** Width and height from a JPEG's SOF marker. */
export function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] ?? 0;
    const len = b.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  return undefined;
}

export interface ThumbOptions {
  maxBytes: number;
  width?: number;          // default 320
  timeoutMs: number;
  ffmpegPath?: string;
  signal?: AbortSignal;
}

const QUALITIES = [4, 8, 14, 22, 31]; // mjpeg -q:v: 2 best … 31 worst

async function encodeThumb(input: string | Buffer, inputOptions: string[], q: number, o: ThumbOptions): Promise<{ jpeg: Buffer; cpu: number; error?: string }> {
  const r = await runFfmpeg({
    ffmpegPath: o.ffmpegPath,
    input: typeof input === 'string' ? input : Readable.from([input]),
    inputOptions: ['-loglevel', 'error', ...inputOptions],
    outputs: [{
      target: 'pipe',
      options: ['-frames:v', '1', '-vf', `scale='min(${o.width ?? 320},iw)':-2`, '-q:v', String(q), '-f', 'image2pipe', '-c:v', 'mjpeg'],
    }],
    timeoutMs: o.timeoutMs,
    signal: o.signal,
  });
  return { jpeg: r.stdout, cpu: r.cpuSeconds, error: r.ok ? undefined : (r.timedOut ? 'timed out' : r.error) };
}

/**
 * A thumbnail under maxBytes from a JPEG buffer or a stream URL (one frame). Quality drops step by step;
 * if even the worst quality is too big the width halves.
 */
export async function thumbnail(source: Buffer | string, o: ThumbOptions): Promise<Jpeg & { cpuSeconds: number }> {
  let cpuSeconds = 0;
  let width = o.width ?? 320;
  // a stream frame is grabbed once; shrinking then works on that JPEG
  let src: Buffer | string = source;
  const inputOptions = (s: Buffer | string) => (typeof s === 'string' ? rtspInputOptions(s, o.timeoutMs) : ['-f', 'image2pipe', '-c:v', 'mjpeg']);
  for (let attempt = 0; attempt < 3; attempt++) {
    for (const q of QUALITIES) {
      const r = await encodeThumb(src, inputOptions(src), q, { ...o, width });
      cpuSeconds += r.cpu;
      if (!r.jpeg.length) throw new Error(`snapshot: ffmpeg produced no image${r.error ? `: ${r.error}` : ''}`);
      if (typeof src === 'string') src = r.jpeg; // keep the grabbed frame; do not reconnect
      if (r.jpeg.length <= o.maxBytes) return { jpeg: r.jpeg, ...jpegSize(r.jpeg), cpuSeconds };
    }
    width = Math.max(32, Math.floor(width / 2));
  }
  throw new Error(`snapshot: cannot get under ${o.maxBytes} bytes`);
}
