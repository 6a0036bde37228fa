// The site map: an SVG drawn from WGS-84 coordinates alone (no tile server: many deployments have no internet).
// Equirectangular projection corrected by cos(latitude), fitted to the devices' bounding box, with a graticule,
// a scale bar, site outlines and one marker per device coloured by health.
import { s } from './dom.js';
import { health } from './state.js';
import { label, t } from './i18n.js';

const W = 800;
const H = 460;
const MARGIN = 34;
const MIN_SPAN_DEG = 0.004; // ~400 m: a single device still gets a sensible zoom
const GRID_STEPS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 45];
const HEALTH_RANK = { offline: 3, degraded: 2, unknown: 1, online: 0 };

const located = (d) => Number.isFinite(d.location?.longitude) && Number.isFinite(d.location?.latitude);

function fit(devs) {
  let [minLon, maxLon, minLat, maxLat] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const d of devs) {
    minLon = Math.min(minLon, d.location.longitude);
    maxLon = Math.max(maxLon, d.location.longitude);
    minLat = Math.min(minLat, d.location.latitude);
    maxLat = Math.max(maxLat, d.location.latitude);
  }
  const midLat = (minLat + maxLat) / 2;
  const k = Math.cos((midLat * Math.PI) / 180);
  const spanX = Math.max((maxLon - minLon) * k, MIN_SPAN_DEG) * 1.25;
  const spanY = Math.max(maxLat - minLat, MIN_SPAN_DEG) * 1.25;
  const scale = Math.min((W - 2 * MARGIN) / spanX, (H - 2 * MARGIN) / spanY); // px per degree of latitude
  const cLon = (minLon + maxLon) / 2;
  const cLat = midLat;
  return {
    scale,
    x: (lon) => W / 2 + (lon - cLon) * k * scale,
    y: (lat) => H / 2 - (lat - cLat) * scale,
    lon: (x) => cLon + (x - W / 2) / (k * scale),
    lat: (y) => cLat - (y - H / 2) / scale,
  };
}

const fmtDeg = (v, step, pos, neg) => `${Math.abs(v).toFixed(Math.max(0, Math.ceil(-Math.log10(step))))}°${v >= 0 ? pos : neg}`;

function graticule(p) {
  const g = s('g', { class: 'graticule' });
  const lon0 = p.lon(0);
  const lon1 = p.lon(W);
  const lat0 = p.lat(H);
  const lat1 = p.lat(0);
  const step = GRID_STEPS.find((st) => (lon1 - lon0) / st <= 7) ?? 90;
  for (let lon = Math.ceil(lon0 / step) * step; lon <= lon1; lon += step) {
    const x = p.x(lon);
    g.append(s('line', { x1: x, y1: 0, x2: x, y2: H }), s('text', { x: x + 3, y: H - 6, class: 'grid-label' }, fmtDeg(lon, step, 'E', 'W')));
  }
  for (let lat = Math.ceil(lat0 / step) * step; lat <= lat1; lat += step) {
    const y = p.y(lat);
    g.append(s('line', { x1: 0, y1: y, x2: W, y2: y }), s('text', { x: 4, y: y - 3, class: 'grid-label' }, fmtDeg(lat, step, 'N', 'S')));
  }
  return g;
}

function scaleBar(p) {
  const metresPerPx = 111_320 / p.scale;
  const target = metresPerPx * 120;
  const nice = [1, 2, 5].flatMap((m) => [1, 10, 100, 1000, 10_000, 100_000].map((e) => m * e)).sort((a, b) => a - b);
  const metres = nice.filter((n) => n <= target).pop() ?? nice[0];
  const px = metres / metresPerPx;
  const x0 = W - 20 - px;
  const y0 = H - 18;
  return s(
    'g',
    { class: 'scalebar' },
    s('path', { d: `M${x0},${y0 - 5}V${y0}H${x0 + px}V${y0 - 5}` }),
    s('text', { x: x0 + px / 2, y: y0 - 8, 'text-anchor': 'middle' }, metres >= 1000 ? `${metres / 1000} km` : `${metres} m`),
    s('text', { x: W - 24, y: 22, 'text-anchor': 'middle', class: 'north' }, 'N'),
    s('path', { d: `M${W - 24},28l-5,12h10z`, class: 'north-arrow' }),
  );
}

function marker(kind) {
  if (kind === 'camera') return s('rect', { x: -6, y: -6, width: 12, height: 12, transform: 'rotate(45)' });
  if (kind === 'station') return s('path', { d: 'M0,-8L7.5,6H-7.5Z' });
  return s('circle', { r: 7 });
}

/**
 * Draws the map of `devices` (DeviceRecords). Returns { el, refresh(), setFilter(ids), select(id) }:
 * refresh() recolours markers and sites from the records' current runtimeStatus.
 */
export function createMap(devices, { onSelect, selected } = {}) {
  const placed = devices.filter(located);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map', role: 'img', 'aria-label': t('map') });
  if (!placed.length) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'map-empty' }, t('mapEmpty')));
    return { el: svg, placed, refresh() {}, setFilter() {}, select() {} };
  }
  const p = fit(placed);
  svg.append(s('rect', { x: 0, y: 0, width: W, height: H, class: 'map-bg' }), graticule(p));

  // Devices at (nearly) the same spot are fanned out so every marker stays clickable.
  const taken = [];
  const pos = new Map();
  for (const d of placed) {
    let x = p.x(d.location.longitude);
    let y = p.y(d.location.latitude);
    for (let i = 1; taken.some(([tx, ty]) => Math.hypot(tx - x, ty - y) < 10) && i < 40; i++) {
      const a = i * 2.4;
      x = p.x(d.location.longitude) + Math.cos(a) * (6 + i * 1.5);
      y = p.y(d.location.latitude) + Math.sin(a) * (6 + i * 1.5);
    }
    taken.push([x, y]);
    pos.set(d.id, [x, y]);
  }

  const sitesLayer = s('g', { class: 'sites' });
  const bySite = new Map();
  for (const d of placed) {
    const id = d.site?.id || '';
    if (!id) continue;
    if (!bySite.has(id)) bySite.set(id, []);
    bySite.get(id).push(d);
  }
  const siteEls = new Map();
  for (const [id, list] of bySite) {
    const pts = list.map((d) => pos.get(d.id));
    const cx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
    const cy = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
    const r = Math.max(...pts.map(([x, y]) => Math.hypot(x - cx, y - cy))) + 16;
    const name = list[0].site?.name || id;
    const circle = s('circle', { cx, cy, r, class: 'site-outline' });
    const g = s(
      'g',
      { class: 'site', 'data-site': id },
      circle,
      s('text', { x: cx, y: cy - r - 5, 'text-anchor': 'middle', class: 'site-label' }, name),
      s('title', {}, `${name} (${label('siteType', list[0].site?.type) || id})`),
    );
    siteEls.set(id, { g, list });
    sitesLayer.append(g);
  }

  const devLayer = s('g', { class: 'devices' });
  const devEls = new Map();
  const showLabels = placed.length <= 24;
  for (const d of placed) {
    const [x, y] = pos.get(d.id);
    const title = s('title');
    const g = s(
      'g',
      {
        class: 'dev',
        'data-device': d.id,
        transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
        tabindex: 0,
        role: 'button',
        onclick: () => onSelect?.(d.id),
        onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && onSelect?.(d.id),
      },
      marker(d.kind),
      showLabels ? s('text', { x: 10, y: 4, class: 'dev-label' }, d.name || d.id) : null,
      title,
    );
    devEls.set(d.id, { g, title, d });
    devLayer.append(g);
  }
  svg.append(sitesLayer, devLayer, scaleBar(p));

  const api = {
    el: svg,
    placed,
    refresh() {
      for (const { g, title, d } of devEls.values()) {
        const hl = health(d.runtimeStatus);
        for (const c of [...g.classList]) if (c.startsWith('h-')) g.classList.remove(c);
        g.classList.add(`h-${hl}`);
        g.dataset.health = hl;
        title.textContent = `${d.name || d.id} · ${label('kind', d.kind)} · ${label('status', d.runtimeStatus || 'unknown')}${d.statusReason ? ` (${d.statusReason})` : ''}`;
      }
      for (const { g, list } of siteEls.values()) {
        const worst = list.map((d) => health(d.runtimeStatus)).sort((a, b) => HEALTH_RANK[b] - HEALTH_RANK[a])[0];
        g.setAttribute('class', `site h-${worst}`);
      }
    },
    /** Dims devices not in `ids` (a Set) instead of re-fitting, so the map does not jump while typing a filter. */
    setFilter(ids) {
      for (const [id, { g }] of devEls) g.classList.toggle('dim', !!ids && !ids.has(id));
    },
    select(id) {
      for (const [did, { g }] of devEls) g.classList.toggle('selected', did === id);
    },
  };
  api.refresh();
  if (selected) api.select(selected);
  return api;
}
