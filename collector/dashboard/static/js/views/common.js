// Pieces shared by the views: status badges, value formatting with the catalog, a device's headline value.
import { h } from '../dom.js';
import { displayUnit, fmtNumber } from '../format.js';
import { getLang, label, t } from '../i18n.js';
import { health, metricDef, metricName, state, thresholdsFor } from '../state.js';

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

/** warning / alarm from the event code's suffix (`water_level.alarm`), else by matching the profile's lines. */
function levelOf(e, th) {
  const suffix = e.code?.split('.').pop();
  if (suffix === 'warning' || suffix === 'alarm') return suffix;
  if (th && e.threshold !== undefined) return e.threshold === th.alarm ? 'alarm' : e.threshold === th.warning ? 'warning' : undefined;
  return undefined;
}

/**
 * An event in the page's language, built from its code, metric, value and threshold ("水位 3.51 m 超过预警线 3.5 m",
 * "设备离线：通信超时", "视频故障：图像模糊"); the edge's own message when nothing better can be said. English keeps
 * the edge's message, which is English already.
 */
export function eventText(e) {
  const lang = getLang();
  const built = buildEventText(e, lang);
  if (lang === 'en') return e.message || built || '';
  return built || e.message || '';
}

function buildEventText(e, lang) {
  const zh = lang === 'zh';
  const sep = zh ? '：' : ': ';
  const device = state.devices.get(e.device);
  const th = e.metric ? thresholdsFor(device, e.metric) : undefined;
  switch (e.kind) {
    case 'alarm_raised':
    case 'threshold_crossed': {
      if (!e.metric) return '';
      const name = metricName(e.metric);
      if (metricDef(e.metric)?.type === 'boolean') return zh ? `${name}${t('ev_alarm')}` : `${name} ${t('ev_alarm')}`;
      if (e.value === undefined) return '';
      const level = levelOf(e, th);
      const line = t(level === 'alarm' ? 'alarmLine' : level === 'warning' ? 'warningLine' : 'thresholdLine');
      const side = t(th?.direction === 'below' ? 'below' : 'above');
      const limit = e.threshold !== undefined ? ` ${fmtValue(e.metric, e.threshold)}` : '';
      return zh ? `${name} ${fmtValue(e.metric, e.value)} ${side}${line}${limit}` : `${name} ${fmtValue(e.metric, e.value)} ${side} ${line}${limit}`;
    }
    case 'alarm_cleared': {
      if (!e.metric) return '';
      const level = levelOf(e, th);
      const what = level === 'alarm' ? t('alarm') : level === 'warning' ? t('warning') : '';
      const value = e.value !== undefined ? `${sep}${fmtValue(e.metric, e.value)}` : '';
      return zh ? `${metricName(e.metric)}${what}${t('ev_cleared')}${value}` : `${metricName(e.metric)} ${what.toLowerCase()} ${t('ev_cleared')}${value}`;
    }
    case 'device_offline':
    case 'device_degraded':
    case 'device_online': {
      const head = t(e.kind === 'device_offline' ? 'ev_offline' : e.kind === 'device_degraded' ? 'ev_degraded' : 'ev_online');
      const reason = e.kind !== 'device_online' && e.code && !['online', 'offline', 'degraded'].includes(e.code) ? label('reason', e.code) : '';
      return reason ? `${head}${sep}${reason}` : head;
    }
    case 'video_fault_raised':
    case 'video_fault_cleared': {
      const head = t(e.kind === 'video_fault_raised' ? 'ev_video' : 'ev_videoCleared');
      return e.code ? `${head}${sep}${label('check', e.code)}` : head;
    }
    case 'data_gap':
      return t('ev_gap');
    default:
      return '';
  }
}
