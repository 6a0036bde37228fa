// Image-quality diagnosis (视频图像质量诊断) of a few seconds of a stream in ONE ffmpeg run:
// blackdetect, freezedetect, blurdetect and signalstats on an analysis copy, plus a 8×8 luma/edge grid
// (rawvideo on stdout, 2 per second) for occlusion. Scores → verdicts with thresholds.ts.
import { Verdict, type QualityCheck } from '../../schema/types.js';
import { rtspInputOptions } from './probe.js';
import { redactUrl, runFfmpeg } from './run-ffmpeg.js';
import { ANALYSIS_WIDTH, THRESHOLDS as T } from './thresholds.js';

export const CHECK_NAMES = [
  'signal_loss', 'black', 'frozen', 'blur', 'too_dark', 'too_bright', 'color_cast', 'noise', 'occlusion',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface DiagnoseOptions {
  sampleSeconds: number;
  timeoutMs: number;
  ffmpegPath?: string;
  signal?: AbortSignal;
}

export interface Diagnosis {
  verdict: Verdict;
  checks: (QualityCheck & { name: CheckName })[];
  sampleSeconds: number;
  cpuSeconds: number;
  frames: number;
  /** Why the stream could not be sampled (signal loss), else undefined. */
  failure?: string;
  timedOut: boolean;
}

/** Per-frame signalstats/blurdetect values and the detectors' spans, parsed from ffmpeg's log. */
export interface FrameStats {
  frames: number;
  lastPts: number;
  yavg: number[]; uavg: number[]; vavg: number[]; satavg: number[]; ydif: number[]; blur: number[];
  blackS: number;                // seconds reported black by blackdetect
  freezeS: number;               // seconds reported frozen by freezedetect (open span runs to lastPts)
}

const GRID = 8;

export function filterGraph(): string {
  const th = T;
  const stats = [
    `blackdetect=d=0.1:pix_th=${th.blackPixel}:pic_th=${th.blackPicture}`,
    `freezedetect=n=${th.freezeNoiseDb}dB:d=${th.freezeMinS}`,
    'blurdetect',
    'signalstats',
    'metadata=mode=print',
  ].join(',');
  const grid =
    `format=gray,fps=2,split[l][e];[e]edgedetect=low=0.1:high=0.3,scale=${GRID}:${GRID}:flags=area[ee];` +
    `[l]scale=${GRID}:${GRID}:flags=area[ll];[ll][ee]hstack[grid]`;
  return `[0:v:0]scale='min(${ANALYSIS_WIDTH},iw)':-2,format=yuv420p,split[a][o];[a]${stats}[stats];[o]${grid}`;
}

const KV = /(lavfi\.[\w.]+)=(-?[\d.]+|-?nan|-?inf)/i;
const PTS = /pts_time:([\d.]+)/;
const BLACK = /black_start:([\d.]+) black_end:([\d.]+) black_duration:([\d.]+)/;
const FREEZE = /lavfi\.freezedetect\.freeze_(start|duration|end): ([\d.]+)/;

export function newFrameStats(): FrameStats {
  return { frames: 0, lastPts: 0, yavg: [], uavg: [], vavg: [], satavg: [], ydif: [], blur: [], blackS: 0, freezeS: 0 };
}

/** Folds one stderr line of the diagnosis run into `s`; `openFreeze` tracks an unfinished freeze span. */
export function parseStatsLine(line: string, s: FrameStats, freeze: { open?: number }): void {
  const b = BLACK.exec(line);
  if (b) {
    s.blackS += Number(b[3]);
    return;
  }
  const f = FREEZE.exec(line);
  if (f && line.includes('freezedetect @')) {
    if (f[1] === 'start') freeze.open = Number(f[2]);
    if (f[1] === 'duration') {
      s.freezeS += Number(f[2]);
      freeze.open = undefined;
    }
    return;
  }
  if (!line.includes('Parsed_metadata')) return;
  const p = PTS.exec(line);
  if (p) {
    s.frames++;
    s.lastPts = Number(p[1]);
    return;
  }
  const kv = KV.exec(line);
  if (!kv) return;
  const v = Number(kv[2]);
  if (!Number.isFinite(v)) return; // blurdetect is NaN on all-black frames
  const key = kv[1];
  if (key === 'lavfi.signalstats.YAVG') s.yavg.push(v);
  else if (key === 'lavfi.signalstats.UAVG') s.uavg.push(v);
  else if (key === 'lavfi.signalstats.VAVG') s.vavg.push(v);
  else if (key === 'lavfi.signalstats.SATAVG') s.satavg.push(v);
  else if (key === 'lavfi.signalstats.YDIF' && s.yavg.length > 1) s.ydif.push(v); // first frame has no previous
  else if (key === 'lavfi.blur') s.blur.push(v);
}

export function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : ((a[m - 1] ?? 0) + (a[m] ?? 0)) / 2;
}

/** Share of grid cells that are dark and flat, averaged over the grid frames (16×8 gray: luma | edges). */
export function occlusionShare(grid: Buffer): number | undefined {
  const frameBytes = GRID * GRID * 2;
  const n = Math.floor(grid.length / frameBytes);
  if (!n) return undefined;
  let share = 0;
  for (let f = 0; f < n; f++) {
    let covered = 0;
    for (let y = 0; y < GRID; y++) {
      for (let x = 0; x < GRID; x++) {
        const row = f * frameBytes + y * GRID * 2;
        const luma = grid[row + x] ?? 0;
        const edge = grid[row + GRID + x] ?? 0;
        if (luma < T.occlusionCellDarkY && edge < T.occlusionCellFlatEdge) covered++;
      }
    }
    share += covered / (GRID * GRID);
  }
  return share / n;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Higher is worse: verdict from WARN/FAULT levels. */
function above(score: number, t: { warn: number; fault: number }): Verdict {
  return score >= t.fault ? Verdict.FAULT : score >= t.warn ? Verdict.WARN : Verdict.OK;
}
function below(score: number, t: { warn: number; fault: number }): Verdict {
  return score <= t.fault ? Verdict.FAULT : score <= t.warn ? Verdict.WARN : Verdict.OK;
}

/** Turns the sample's statistics into the nine checks. Exported for data-driven tests (testcases/). */
export function judge(s: FrameStats, grid: Buffer, sampleSeconds: number, freezeOpen?: number): Diagnosis['checks'] {
  const checks: Diagnosis['checks'] = [];
  const add = (name: CheckName, score: number, verdict: Verdict, detail: string) =>
    checks.push({ name, score: round(score), verdict, detail });
  const span = Math.max(s.lastPts, 0.001);
  const unknown = (name: CheckName, why: string) => add(name, 0, Verdict.UNKNOWN_VERDICT, why);

  if (s.frames === 0) {
    add('signal_loss', 1, Verdict.FAULT, 'no frames decoded');
    for (const n of CHECK_NAMES.slice(1)) unknown(n, 'no frames');
    return checks;
  }
  add('signal_loss', 0, Verdict.OK, `${s.frames} frames in ${round(span, 2)} s`);

  const blackShare = Math.min(1, s.blackS / span);
  const black = above(blackShare, T.black);
  add('black', blackShare, black, `black ${round(s.blackS, 2)} s of ${round(span, 2)} s`);
  // A black picture is also still, dark, flat and colourless: those checks would only repeat it.
  const masked = black === Verdict.FAULT ? 'masked by black' : undefined;

  const freezeS = s.freezeS + (freezeOpen !== undefined ? Math.max(0, s.lastPts - freezeOpen) : 0);
  const frozenShare = Math.min(1, freezeS / span);
  if (masked) unknown('frozen', masked);
  else add('frozen', frozenShare, above(frozenShare, T.frozen), `still ${round(freezeS, 2)} s of ${round(span, 2)} s`);

  const blur = median(s.blur);
  if (masked || blur === undefined) unknown('blur', masked ?? 'no blur measure');
  else add('blur', blur, above(blur, T.blur), `blurdetect median ${round(blur, 2)}`);

  const yavg = median(s.yavg) ?? 0;
  if (masked) {
    unknown('too_dark', masked);
    unknown('too_bright', masked);
  } else {
    add('too_dark', yavg, below(yavg, T.tooDark), `mean luma ${round(yavg, 1)}`);
    add('too_bright', yavg, above(yavg, T.tooBright), `mean luma ${round(yavg, 1)}`);
  }

  const u = (median(s.uavg) ?? 128) - 128;
  const v = (median(s.vavg) ?? 128) - 128;
  const shift = Math.hypot(u, v);
  const sat = median(s.satavg) ?? 0;
  const k = sat > 0 ? Math.min(1.5, shift / sat) : 0;
  const castScore = shift >= T.colorCastMinShift ? k : 0;
  if (masked) unknown('color_cast', masked);
  else add('color_cast', castScore, above(castScore, T.colorCast), `chroma shift ${round(shift, 1)} (U ${round(u, 1)}, V ${round(v, 1)}), saturation ${round(sat, 1)}`);

  const ydif = median(s.ydif);
  if (masked || ydif === undefined) unknown('noise', masked ?? 'needs two frames');
  else add('noise', ydif, above(ydif, T.noise), `median frame difference ${round(ydif, 1)}`);

  const occ = occlusionShare(grid);
  const dark = yavg <= T.tooDark.fault;
  if (masked || occ === undefined) unknown('occlusion', masked ?? 'no grid frames');
  else if (dark) unknown('occlusion', 'picture too dark to tell');
  else add('occlusion', occ, above(occ, T.occlusion), `${Math.round(occ * 100)}% of the picture dark and flat`);

  void sampleSeconds;
  return checks;
}

/** Worst verdict of the checks (UNKNOWN only counts when nothing else is known). */
export function overallVerdict(checks: QualityCheck[]): Verdict {
  let worst: Verdict = Verdict.OK;
  for (const c of checks) if (c.verdict !== Verdict.UNKNOWN_VERDICT && c.verdict > worst) worst = c.verdict;
  return worst;
}

export async function diagnoseStream(url: string, o: DiagnoseOptions): Promise<Diagnosis> {
  const stats = newFrameStats();
  const freeze: { open?: number } = {};
  const r = await runFfmpeg({
    ffmpegPath: o.ffmpegPath,
    input: url,
    inputOptions: ['-loglevel', 'info', ...rtspInputOptions(url, o.timeoutMs), '-t', String(o.sampleSeconds), '-an'],
    outputs: [
      { target: '/dev/null', options: ['-filter_complex', filterGraph(), '-map', '[stats]', '-f', 'null'] },
      { target: 'pipe', options: ['-map', '[grid]', '-f', 'rawvideo', '-pix_fmt', 'gray'] },
    ],
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onStderrLine: (line) => parseStatsLine(line, stats, freeze),
  });
  const checks = judge(stats, r.stdout, o.sampleSeconds, freeze.open);
  const failure = stats.frames === 0
    ? (r.timedOut ? `no frames within ${o.timeoutMs} ms` : (r.error ?? 'no frames')).replace(url, redactUrl(url))
    : undefined;
  if (failure) {
    const first = checks[0];
    if (first) first.detail = failure;
  }
  return {
    verdict: overallVerdict(checks),
    checks,
    sampleSeconds: round(stats.lastPts, 2),
    cpuSeconds: round(r.cpuSeconds),
    frames: stats.frames,
    failure,
    timedOut: r.timedOut,
  };
}
