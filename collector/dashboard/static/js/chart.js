// A line chart of one metric drawn as SVG: time axis, nice value ticks, warning/alarm threshold lines from the
// device's profile, gaps left open, questionable points marked, and a hover read-out.
import { s } from './dom.js';
import { fmtNumber, fmtTime, displayUnit } from './format.js';
import { t } from './i18n.js';

const W = 800;
const H = 300;
const M = { l: 58, r: 70, t: 14, b: 28 };
const TIME_STEPS = [60e3, 5 * 60e3, 15 * 60e3, 30 * 60e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3];

export const toNumber = (v) => (v === true ? 1 : v === false ? 0 : typeof v === 'number' && Number.isFinite(v) ? v : NaN);

function niceTicks(min, max, count = 5) {
  const span = max - min || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= count) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function timeTicks(from, to) {
  const step = TIME_STEPS.find((st) => (to - from) / st <= 7) ?? TIME_STEPS.at(-1);
  // Align to local midnight so "06:00" ticks land on the hour in the viewer's time zone.
  const offset = new Date(from).getTimezoneOffset() * 60e3;
  const ticks = [];
  for (let v = Math.ceil((from - offset) / step) * step + offset; v <= to; v += step) ticks.push(v);
  return { ticks, daily: step >= 86400e3, long: to - from > 86400e3 };
}

/**
 * createChart({ points, from, to, unit, isBoolean, thresholds, step, band, bars }) → { el, addPoint(p, now), count }.
 * points: [{ ts, value, quality, end? }] in time order. thresholds: { warning, alarm, direction } or undefined.
 * bars: period totals (rainfall) drawn as bars from each point's ts to its end (or ts + step).
 * band: { lower, upper } point lists (same shape) drawn as a shaded range behind the line — the minima and maxima
 * of period aggregates (HJ 212 hourly data: the line is the average, the band spans min to max).
 */
export function createChart(opts) {
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  let points = opts.points.slice();
  let { from, to } = opts;
  const api = {
    el: svg,
    get count() {
      return points.length;
    },
    /** Appends a live point; a sliding window keeps the range's width. */
    addPoint(p, now = Date.now()) {
      if (points.length && p.ts <= points.at(-1).ts) return;
      points.push(p);
      const width = to - from;
      if (now > to) [from, to] = [now - width, now];
      points = points.filter((q) => q.ts >= from);
      render();
    },
  };
  const render = () => draw(svg, { ...opts, points, from, to });
  render();
  return api;
}

/** Pairs band minima and maxima by timestamp: [{ ts, lo, hi }] in time order. */
function bandPairs(band) {
  if (!band) return [];
  const upper = new Map(band.upper.map((p) => [p.ts, toNumber(p.value)]));
  return band.lower
    .map((p) => ({ ts: p.ts, lo: toNumber(p.value), hi: upper.get(p.ts) }))
    .filter((b) => Number.isFinite(b.lo) && Number.isFinite(b.hi))
    .sort((a, b) => a.ts - b.ts);
}

function draw(svg, { points, from, to, unit, isBoolean, thresholds, step, band, bars }) {
  svg.replaceChildren();
  const pts = points.map((p) => ({ ...p, v: toNumber(p.value) })).filter((p) => Number.isFinite(p.v));
  const bands = bandPairs(band);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const x = (ts) => M.l + ((ts - from) / (to - from)) * pw;
  const u = displayUnit(unit);

  const lines = [];
  if (!isBoolean && thresholds) {
    if (Number.isFinite(thresholds.warning)) lines.push({ v: thresholds.warning, cls: 'th-warning', name: t('warning') });
    if (Number.isFinite(thresholds.alarm)) lines.push({ v: thresholds.alarm, cls: 'th-alarm', name: t('alarm') });
  }
  let lo = isBoolean ? 0 : Math.min(...pts.map((p) => p.v), ...bands.map((b) => b.lo), ...lines.map((l) => l.v));
  let hi = isBoolean ? 1 : Math.max(...pts.map((p) => p.v), ...bands.map((b) => b.hi), ...lines.map((l) => l.v));
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) * 0.1 || 1), hi + (Math.abs(hi) * 0.1 || 1)];
  const pad = (hi - lo) * 0.06;
  if (!isBoolean) [lo, hi] = [lo - pad, hi + pad];
  else [lo, hi] = [-0.1, 1.1];
  if (bars) lo = Math.min(0, lo + pad); // totals stand on zero
  const y = (v) => M.t + (1 - (v - lo) / (hi - lo)) * ph;

  // Axes and grid
  const grid = s('g', { class: 'chart-grid' });
  const yTicks = isBoolean ? [0, 1] : niceTicks(lo, hi);
  for (const v of yTicks) {
    grid.append(
      s('line', { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }),
      s('text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, isBoolean ? (v ? t('yes') : t('no')) : fmtNumber(v)),
    );
  }
  const tt = timeTicks(from, to);
  for (const ts of tt.ticks) {
    const label = tt.daily ? fmtTime(ts).slice(5, 10) : tt.long ? `${fmtTime(ts).slice(5, 10)} ${fmtTime(ts, { date: false, seconds: false })}` : fmtTime(ts, { date: false, seconds: false });
    grid.append(s('line', { x1: x(ts), x2: x(ts), y1: M.t, y2: H - M.b }), s('text', { x: x(ts), y: H - 8, 'text-anchor': 'middle' }, label));
  }
  if (u) grid.append(s('text', { x: 6, y: M.t + 4, class: 'unit' }, u));
  svg.append(grid, s('rect', { x: M.l, y: M.t, width: pw, height: ph, class: 'chart-frame' }));

  for (const l of lines) {
    svg.append(
      s('line', { x1: M.l, x2: W - M.r, y1: y(l.v), y2: y(l.v), class: `threshold ${l.cls}`, 'data-value': l.v }),
      s('text', { x: W - M.r + 4, y: y(l.v) + 4, class: `threshold-label ${l.cls}` }, `${l.name} ${fmtNumber(l.v)}`),
    );
  }

  if (!pts.length) {
    svg.append(s('text', { x: M.l + pw / 2, y: M.t + ph / 2, 'text-anchor': 'middle', class: 'chart-empty' }, t('noSeries')));
    return;
  }

  if (bars) drawBars(svg, pts, x, y, step);
  else drawLine(svg, pts, bands, x, y, isBoolean, step);
  hover(svg, pts, x, y, { from, to, pw, ph, u, isBoolean });
}

/** Period totals as bars standing on zero, each from its period's start to its end. */
function drawBars(svg, pts, x, y, step) {
  const g = s('g', { class: 'bars', 'data-points': pts.length });
  for (const p of pts) {
    const x0 = x(p.ts);
    const x1 = x(p.end ?? p.ts + (step || 0));
    g.append(s('rect', { x: x0 + 0.5, y: y(p.v), width: Math.max(1, x1 - x0 - 1), height: Math.max(0, y(0) - y(p.v)), class: ['bar', p.quality && p.quality !== 'good' && `q-${p.quality}`], 'data-ts': p.ts, 'data-value': p.v }));
  }
  svg.append(g);
}

function drawLine(svg, pts, bands, x, y, isBoolean, step) {
  // A gap wider than 3 steps (or 3 typical spacings) breaks the line instead of drawing across missing data.
  const deltas = pts.slice(1).map((p, i) => p.ts - pts[i].ts).sort((a, b) => a - b);
  const typical = deltas.length ? deltas[Math.floor(deltas.length / 2)] : 0;
  const maxGap = Math.max(3 * (step || 0), 3 * typical, 1);

  // The min–max band: one closed shape per run without gaps (upper edge forward, lower edge back).
  if (bands.length) {
    const g = s('g', { class: 'band', 'data-points': bands.length });
    let run = [];
    const flush = () => {
      if (!run.length) return;
      const upper = run.map((b) => `${x(b.ts).toFixed(1)},${y(b.hi).toFixed(1)}`);
      const lower = run.map((b) => `${x(b.ts).toFixed(1)},${y(b.lo).toFixed(1)}`).reverse();
      g.append(s('path', { d: `M${[...upper, ...lower].join('L')}Z` }));
      run = [];
    };
    bands.forEach((b, i) => {
      if (i && b.ts - bands[i - 1].ts > maxGap) flush();
      run.push(b);
    });
    flush();
    svg.append(g);
  }
  let d = '';
  pts.forEach((p, i) => {
    const px = x(p.ts).toFixed(1);
    const py = y(p.v).toFixed(1);
    const prev = pts[i - 1];
    if (!prev || p.ts - prev.ts > maxGap) d += `M${px},${py}`;
    else d += isBoolean ? `H${px}V${py}` : `L${px},${py}`;
  });
  svg.append(s('path', { d, class: 'series', 'data-points': pts.length }));

  for (const p of pts) if (p.quality && p.quality !== 'good') svg.append(s('circle', { cx: x(p.ts), cy: y(p.v), r: 3, class: `q-${p.quality}` }));
  const last = pts.at(-1);
  svg.append(s('circle', { cx: x(last.ts), cy: y(last.v), r: 3.5, class: 'last-point' }));
}

function hover(svg, pts, x, y, { from, to, pw, ph, u, isBoolean }) {
  // Hover read-out: nearest point in time.
  const cursor = s('g', { class: 'cursor', visibility: 'hidden' });
  const vline = s('line', { y1: M.t, y2: H - M.b });
  const dot = s('circle', { r: 4 });
  const label = s('text', { y: M.t + 14 });
  cursor.append(vline, dot, label);
  const overlay = s('rect', { x: M.l, y: M.t, width: pw, height: ph, class: 'chart-overlay' });
  overlay.addEventListener('mousemove', (e) => {
    const box = svg.getBoundingClientRect();
    const ts = from + (((e.clientX - box.left) * (W / box.width) - M.l) / pw) * (to - from);
    let lo2 = 0;
    let hi2 = pts.length - 1;
    while (lo2 < hi2) {
      const mid = (lo2 + hi2) >> 1;
      if (pts[mid].ts < ts) lo2 = mid + 1;
      else hi2 = mid;
    }
    const p = lo2 > 0 && ts - pts[lo2 - 1].ts < pts[lo2].ts - ts ? pts[lo2 - 1] : pts[lo2];
    const px = x(p.ts);
    vline.setAttribute('x1', px);
    vline.setAttribute('x2', px);
    dot.setAttribute('cx', px);
    dot.setAttribute('cy', y(p.v));
    label.textContent = `${isBoolean ? (p.v ? t('yes') : t('no')) : fmtNumber(p.v)}${u ? ` ${u}` : ''} · ${fmtTime(p.ts)}`;
    const right = px > M.l + pw * 0.6;
    label.setAttribute('x', right ? px - 6 : px + 6);
    label.setAttribute('text-anchor', right ? 'end' : 'start');
    cursor.setAttribute('visibility', 'visible');
  });
  overlay.addEventListener('mouseleave', () => cursor.setAttribute('visibility', 'hidden'));
  svg.append(cursor, overlay);
}
