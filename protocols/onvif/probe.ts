// Stream probe: can the stream be opened, what it carries (codec, resolution, nominal fps), and what
// actually arrives in a short window (decoded fps, bitrate, time to first frame, decode errors).
// One ffmpeg run: output 0 decodes to null (frames, decode errors), output 1 copies packets to stdout
// (NUT container: bytes ≈ stream bitrate without decoding twice).
import { redactUrl, runFfmpeg } from './run-ffmpeg.js';

export interface ProbeResult {
  reachable: boolean;       // the stream opened (RTSP DESCRIBE/SETUP/PLAY and stream info)
  frames: number;           // frames decoded in the window
  codec?: string;
  width?: number;
  height?: number;
  nominalFps?: number;      // from the stream header
  fps?: number;             // decoded frames per second of stream time
  bitrateKbps?: number;
  firstFrameMs?: number;    // from spawning ffmpeg to its first decoded frame (includes RTSP setup)
  decodeErrors: number;
  durationS: number;        // stream time covered
  cpuSeconds: number;
  timedOut: boolean;
  error?: string;
}

export interface ProbeOptions {
  seconds: number;
  timeoutMs: number;
  ffmpegPath?: string;
  signal?: AbortSignal;
}

/** Input options for a camera URL: RTSP interleaved over TCP (NAT/firewall friendly) and a socket timeout. */
export function rtspInputOptions(url: string, timeoutMs: number): string[] {
  if (!/^rtsps?:/i.test(url)) return [];
  // -timeout is the RTSP socket I/O timeout in microseconds (ffmpeg ≥ 5)
  return ['-rtsp_transport', 'tcp', '-timeout', String(Math.max(1, Math.round(timeoutMs * 1000)))];
}

const STREAM = /Stream #0:\d+.*: Video: (\w+)[^,]*(?:,[^,]*)*?, (\d{2,5})x(\d{2,5})/;
const FPS = /, ([\d.]+) fps/;
const TBR = /, ([\d.]+) tbr/;
const PROGRESS = /frame=\s*(\d+).*time=(\d+):(\d+):([\d.]+)/;
const DECODE_ERROR = /error while decoding|concealing \d+|decode_slice_header error|non-existing PPS|corrupt|no frame!|Invalid NAL|missing picture/i;

export async function probeStream(url: string, o: ProbeOptions): Promise<ProbeResult> {
  const res: ProbeResult = { reachable: false, frames: 0, decodeErrors: 0, durationS: 0, cpuSeconds: 0, timedOut: false };
  let section: 'none' | 'input' | 'output' = 'none';
  let bytes = 0;
  const r = await runFfmpeg({
    ffmpegPath: o.ffmpegPath,
    input: url,
    inputOptions: ['-loglevel', 'info', ...rtspInputOptions(url, o.timeoutMs), '-t', String(o.seconds), '-an'],
    outputs: [
      { target: '/dev/null', options: ['-map', '0:v:0', '-f', 'null'] },
      { target: 'pipe', options: ['-map', '0:v:0', '-c:v', 'copy', '-f', 'nut'] },
    ],
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onStdout: (chunk) => (bytes += chunk.length),
    onStderrLine: (line, ms) => {
      if (line.startsWith('Input #0')) section = 'input';
      else if (line.startsWith('Output #0')) {
        section = 'output';
        res.firstFrameMs ??= ms;
      }
      if (section === 'input' && !res.codec) {
        const m = STREAM.exec(line);
        if (m) {
          res.reachable = true;
          res.codec = m[1];
          res.width = Number(m[2]);
          res.height = Number(m[3]);
          const f = FPS.exec(line) ?? TBR.exec(line);
          if (f) res.nominalFps = Number(f[1]);
        }
      }
      const p = PROGRESS.exec(line);
      if (p) {
        res.frames = Number(p[1]);
        res.durationS = Number(p[2]) * 3600 + Number(p[3]) * 60 + Number(p[4]);
      }
      if (DECODE_ERROR.test(line)) res.decodeErrors++;
    },
  });
  res.cpuSeconds = Math.round(r.cpuSeconds * 1000) / 1000;
  res.timedOut = r.timedOut;
  if (res.frames === 0) res.firstFrameMs = undefined;
  if (res.durationS > 0) {
    res.fps = Math.round((res.frames / res.durationS) * 100) / 100;
    res.bitrateKbps = Math.round((bytes * 8) / 1000 / res.durationS);
  }
  if (!r.ok || !res.reachable) {
    const why = r.timedOut ? `no answer within ${o.timeoutMs} ms` : r.error ?? 'stream did not open';
    res.error = why.split(url).join(redactUrl(url));
  }
  return res;
}
