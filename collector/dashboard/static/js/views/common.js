// Pieces shared by the views: status badges, value formatting with the catalog, a device's headline value.
import { h } from '../dom.js';
import { displayUnit, fmtNumber } from '../format.js';
import { label, t } from '../i18n.js';
import { health, metricDef, metricName, state } from '../state.js';

export function statusBadge(status) {
  const hl = health(status);
  return h('span', { class: ['badge', `h-${hl}`], 'data-health': hl }, h('i', { class: 'dot' }), label('status', status || 'unknown'));
}

export function severityBadge(sev) {
  return h('span', { class: ['sev', `sev-${sev}`] }, label('severity', sev));
}

export function verdictBadge(v) {
  return h('span', { class: ['verdict', `v-${v}`] }, label('verdict', v));
}

/** "3.42 m", "是", "报警" … for a value of `metric`. */
export function fmtValue(metric, value, unit) {
  const def = metricDef(metric);
  if (typeof value === 'boolean' || def?.type === 'boolean') {
    const on = value === true || value === 1;
    return on ? t('yes') : t('no');
  }
  if (typeof value !== 'number') return value === null || value === undefined ? '–' : String(value);
  const u = displayUnit(unit ?? def?.unit);
  return u ? `${fmtNumber(value)} ${u}` : fmtNumber(value);
}

const CATEGORY_RANK = ['hydrology', 'water_quality', 'fire', 'air_quality', 'meteorology', 'video', 'device'];

/** The value that best summarises a device in a list: its most "domain" metric. */
export function headline(deviceId) {
  const m = state.latest.get(deviceId);
  if (!m || !m.size) return undefined;
  const rank = (name) => {
    const i = CATEGORY_RANK.indexOf(metricDef(name)?.category);
    return i < 0 ? CATEGORY_RANK.length : i;
  };
  // video_online says more about a camera than its bitrate does.
  const [metric, row] = [...m].sort(([a], [b]) => rank(a) - rank(b) || (b === 'video_online') - (a === 'video_online') || a.localeCompare(b))[0];
  return { metric, row, text: `${metricName(metric)} ${fmtValue(metric, row.value, row.unit)}` };
}

export const siteLabel = (d) => d.site?.name || d.site?.id || '';

export function errorBox(err) {
  return h('p', { class: 'error' }, t('loadError'), err?.message ?? String(err));
}
