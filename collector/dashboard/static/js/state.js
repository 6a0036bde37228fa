// What the page knows: the catalog, the bureau's devices, latest values. Live feed items are applied here and
// handed to the open view in small batches so a busy feed does not re-render the page per reading.
import { getLang, setCatalogLabels } from './i18n.js';

export const state = {
  catalog: { metrics: [], profiles: {} },
  metricByName: new Map(),
  devices: new Map(), // id → DeviceRecord (with runtimeStatus, lastSeen)
  latest: new Map(), // device id → Map(metric → { value, ts, unit, quality })
  who: undefined, // { name, bureau, admin } when the collector tells us
  mapConfig: {}, // /dashboard/map.json: { tiles, boundary, center, zoom }
};

export function setCatalog(c) {
  state.catalog = { metrics: c.metrics ?? [], profiles: c.profiles ?? {} };
  setCatalogLabels(c.labels);
  state.metricByName = new Map(state.catalog.metrics.map((m) => [m.name, m]));
}

export const metricDef = (name) => state.metricByName.get(name);

export function metricName(name) {
  const m = metricDef(name);
  return m ? m[getLang()] : name;
}

/**
 * The levels in effect for a device's metric: { warning, alarm, direction, when } or undefined. The edge reports
 * its effective levels in the record (profile, overridden per site and device at the city); older records fall
 * back to the profile's.
 */
export function thresholdsFor(device, metric) {
  const own = device?.thresholds?.find((x) => x.metric === metric);
  if (own) return { warning: own.warning, alarm: own.alarm, direction: own.direction ?? 'above', when: own.when };
  const p = device?.profileId ? state.catalog.profiles[device.profileId] : undefined;
  return p?.[metric];
}

/** Registry status mapped onto the four map colours. */
export function health(status) {
  if (status === 'online' || status === 'degraded' || status === 'offline') return status;
  if (status === 'fault') return 'offline';
  return 'unknown';
}

export function setDevices(list) {
  state.devices = new Map(list.map((d) => [d.id, d]));
  for (const d of list) addCustomMetrics(d);
}

/**
 * A device's custom metrics (x_ names, declared by its profile or edge and carried in its 一机一档 record):
 * merged over the catalog so their names, units and ranges show like catalog metrics.
 */
export function addCustomMetrics(device) {
  for (const m of device?.customMetrics ?? []) {
    if (!m?.name || state.catalog.metrics.some((c) => c.name === m.name)) continue;
    const range = m.rangeMin !== undefined && m.rangeMax !== undefined ? [m.rangeMin, m.rangeMax] : undefined;
    state.metricByName.set(m.name, { name: m.name, unit: m.unit, zh: m.zh || m.name, en: m.en || m.name, type: m.type || 'number', range, category: 'custom' });
  }
}

export function setLatest(rows) {
  state.latest = new Map();
  for (const r of rows) applyLatest(r);
}

/**
 * Keeps the newest value per device and metric; returns true when it changed. Of a period's aggregates (HJ 212
 * avg/min/max) the latest card shows the average: minima and maxima are drawn as the chart's band instead.
 */
export function applyLatest(r) {
  if (r.aggregate === 'min' || r.aggregate === 'max') return false;
  let m = state.latest.get(r.device);
  if (!m) state.latest.set(r.device, (m = new Map()));
  const cur = m.get(r.metric);
  if (cur && cur.ts > r.ts) return false;
  m.set(r.metric, { value: r.value, ts: r.ts, unit: r.unit, quality: r.quality });
  return true;
}

const STATUS_BY_EVENT = { device_online: 'online', device_offline: 'offline', device_degraded: 'degraded' };

// Pending live changes, flushed to the subscriber every FLUSH_MS.
const FLUSH_MS = 150;
let pending = { readings: [], events: [], alarms: [], devices: new Set() };
let timer;
let subscriber = () => {};

export const onLive = (fn) => (subscriber = fn);

function schedule() {
  timer ??= setTimeout(() => {
    timer = undefined;
    const batch = pending;
    pending = { readings: [], events: [], alarms: [], devices: new Set() };
    subscriber(batch);
  }, FLUSH_MS);
}

/** Applies one feed message ({ event: 'reading'|'event'|'alarm', data }). */
export function applyFeed(msg) {
  const d = msg.data;
  if (msg.event === 'alarm' && d && typeof d.id === 'number') {
    // Alarm transitions (alarms.js keeps the open ones); edge alarms have no device.
    if (pending.alarms.length < 1000) pending.alarms.push(d);
    if (typeof d.device === 'string') pending.devices.add(d.device);
    return schedule();
  }
  if (!d || typeof d.device !== 'string') return;
  const device = state.devices.get(d.device);
  if (msg.event === 'reading') {
    applyLatest(d);
    if (device) {
      if (!device.lastSeen || d.ts > device.lastSeen) device.lastSeen = d.ts;
      // Mirrors the collector: a reading turns an unknown device online; status events do the rest.
      if (!device.runtimeStatus || device.runtimeStatus === 'unknown') device.runtimeStatus = 'online';
    }
    if (pending.readings.length < 5000) pending.readings.push(d);
  } else if (msg.event === 'event') {
    const status = STATUS_BY_EVENT[d.kind];
    if (device && status) {
      device.runtimeStatus = status;
      if (status !== 'online' && d.message) device.statusReason = d.message;
    }
    if (pending.events.length < 1000) pending.events.push(d);
  } else return;
  pending.devices.add(d.device);
  schedule();
}
