// CPU cost of GB/T 28181 live view per stream (remux only: no decoding, no encoding), next to yardsticks measured
// in the same run on the same RTSP stream:
//   product  — LiveStream as the edge runs it: ffmpeg RTSP → -c copy → MPEG-TS, then our TS → PS → RTP over UDP
//   copy     — `ffmpeg -c copy -f null`: the floor of pulling and remuxing the stream at all
//   decode   — `ffmpeg -f null` decoding every frame: the least a transcoding gateway pays per stream
// The camera is a 1080p25 H.264 Main-profile clip (CABAC, deblocking, 4 Mbit/s, GOP 50, no B-frames) served by GStreamer's RTSP server; RTP goes to a sink in
// another process. CPU = utime+stime from /proc over a fixed window after a warm-up.
// Run: npm run bench:gb28181 [-- --quick] [-- --streams 1,4]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRtspServer } from '../demo/simulators/rtsp-server.js';
import { MediaOutput, LiveStream } from '../protocols/gb28181/stream.js';
import type { PlayOffer } from '../protocols/gb28181/sdp.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const streamCounts = (args[args.indexOf('--streams') + 1] && args.includes('--streams') ? args[args.indexOf('--streams') + 1]! : quick ? '1' : '1,4')
  .split(',').map(Number);
const WARMUP_S = 3;
const WINDOW_S = quick ? 5 : 10;
const CLIP_S = WARMUP_S + WINDOW_S + 5;
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** CPU share of one core used by `pids` (and this process when `self`) over the window. */
async function measure(pids: () => number[], self: boolean): Promise<{ children: number; self: number }> {
  await sleep(WARMUP_S);
  const p0 = pids().map(cpuSeconds);
  const s0 = process.cpuUsage();
  await sleep(WINDOW_S);
  const p1 = pids().map(cpuSeconds);
  const s1 = process.cpuUsage(s0);
  const children = p1.reduce((a, v, i) => a + v - p0[i]!, 0) / WINDOW_S;
  return { children, self: self ? (s1.user + s1.system) / 1e6 / WINDOW_S : 0 };
}

/** A UDP sink in its own process so that receiving is not billed to the product. */
function startSink(): Promise<{ port: number; child: ChildProcess; bytes(): Promise<number> }> {
  const code = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(d)=>{n+=d.length});s.bind(0,'127.0.0.1',()=>console.log('PORT '+s.address().port));process.stdin.on('data',()=>console.log('BYTES '+n));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const waiters: ((s: string) => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      waiters.shift()?.(line);
    }
  });
  const next = () => new Promise<string>((r) => waiters.push(r));
  return next().then((line) => ({
    port: Number(line.split(' ')[1]),
    child,
    bytes: async () => {
      const p = next();
      child.stdin!.write('x\n');
      return Number((await p).split(' ')[1]);
    },
  }));
}

function ffmpegYardstick(url: string, decode: boolean): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-rtsp_transport', 'tcp', '-i', url, '-map', '0:v:0', ...(decode ? [] : ['-c', 'copy']), '-f', 'null', '-'], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'yiwang-bench-gb-'));
  const clip = join(dir, 'cam-1080p.mp4');
  process.stdout.write(`encoding a ${CLIP_S} s 1080p25 H.264 Main-profile test clip (4 Mbit/s, GOP 50, as cameras send)… `);
  const enc = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=25`, '-t', String(CLIP_S),
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '4M', '-maxrate', '4M', '-bufsize', '8M', '-g', '50', '-bf', '0', '-pix_fmt', 'yuv420p', '-y', clip]);
  if (enc.status !== 0) throw new Error(enc.stderr.toString());
  console.log('done');
  const rtsp = await startRtspServer(15_000, { cam: clip });
  const url = rtsp.url('cam');
  const sink = await startSink();
  const rows: string[] = [];
  try {
    for (const n of streamCounts) {
      const streams: LiveStream[] = [];
      const before = await sink.bytes();
      for (let i = 0; i < n; i++) {
        const offer: PlayOffer = { session: 'Play', address: '127.0.0.1', port: sink.port, transport: 'udp', ssrc: 100000001 + i, ssrcText: String(100000001 + i) };
        const output = await MediaOutput.open(offer, '127.0.0.1', ['127.0.0.1']);
        const s = new LiveStream({ rtspUrl: url, output, onEnd: (why) => console.error(`stream ended: ${why}`) });
        s.start();
        streams.push(s);
      }
      const m = await measure(() => streams.map((s) => s.pid!).filter(Boolean), true);
      const mbit = ((await sink.bytes()) - before) * 8 / 1e6 / (WARMUP_S + WINDOW_S) / n;
      const frames = streams.reduce((a, s) => a + s.stats.frames, 0) / n;
      await Promise.all(streams.map((s) => s.stop()));
      rows.push(row(`product, ${n} stream${n > 1 ? 's' : ''}`, (m.children + m.self) / n, `ffmpeg ${pct(m.children / n)} + node ${pct(m.self / n)} per stream; ${mbit.toFixed(1)} Mbit/s and ${Math.round(frames)} frames sent per stream`));
    }
    for (const [label, decode] of [['yardstick: ffmpeg -c copy -f null', false], ['yardstick: ffmpeg decode -f null', true]] as const) {
      const child = ffmpegYardstick(url, decode);
      const m = await measure(() => [child.pid!], false);
      child.kill('SIGKILL');
      rows.push(row(label, m.children, 'same RTSP stream, one process'));
    }
  } finally {
    sink.child.kill();
    await rtsp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nGB/T 28181 live view, 1080p25 H.264 at 4 Mbit/s, CPU as % of one core (window ${WINDOW_S} s after ${WARMUP_S} s warm-up)\n`);
  console.log(`| what | CPU per stream | detail |\n|---|---|---|\n${rows.join('\n')}`);
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const row = (what: string, cpu: number, detail: string) => `| ${what} | ${pct(cpu)} | ${detail} |`;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
