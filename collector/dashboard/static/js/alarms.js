// The bureau's alarms on the page: the open ones (loaded at sign-in, kept current from the live feed's `alarm`
// items), each device's worst open alarm (map and list colours), alarm texts in the page's language, and the
// acknowledgement form operators get.
import { ApiError, authHeaders } from './api.js';
import { h } from './dom.js';
import { fmtDuration, fmtNumber, displayUnit } from './format.js';
import { getLang, label, t } from './i18n.js';
import { health, metricDef, metricName, state } from './state.js';

export const SEVERITIES = ['info', 'warning', 'major', 'critical'];
const RANK = { info: 1, warning: 2, major: 3, critical: 4 };

export const alarmState = {
  /** id → the newest version of every alarm seen (open ones and those seen clearing). */
  byId: new Map(),
  /** Whether this token may acknowledge (operator or admin). */
  canAck: false,
};

const isOpen = (a) => a.state === 'active' || a.state === 'acknowledged';

/** Takes a version of an alarm unless a newer one is already known (feed items and list loads interleave). */
export function applyAlarm(a) {
  if (!a || typeof a.id !== 'number') return false;
  const cur = alarmState.byId.get(a.id);
  if (cur && cur.updatedAt > a.updatedAt) return false;
  alarmState.byId.set(a.id, a);
  return true;
}

export function setAlarms(list) {
  for (const a of list) applyAlarm(a);
}

export const openAlarms = () => [...alarmState.byId.values()].filter(isOpen).sort((a, b) => RANK[b.severity] - RANK[a.severity] || b.raisedAt - a.raisedAt);

/** A device's open alarms, with its edge's alarms (an offline edge silences all its devices). */
export function openAlarmsOf(deviceId) {
  const edge = state.devices.get(deviceId)?.edgeId;
  return openAlarms().filter((a) => a.device === deviceId || (!a.device && a.edge && a.edge === edge));
}

export function worstOf(deviceId) {
  const list = openAlarmsOf(deviceId);
  return list.length ? list[0] : undefined;
}

export function countsBySeverity() {
  const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const a of openAlarms()) out[a.severity]++;
  return out;
}

const HEALTH_RANK = { online: 0, unknown: 1, degraded: 2, offline: 3 };

/** Marker colour: the worst open alarm's severity, else the runtime status (see map.js setMarkerColor). */
export function alarmColor(d) {
  const worst = worstOf(d.id);
  if (worst) return { key: worst.severity, rank: 10 + RANK[worst.severity], label: `${label('severity', worst.severity)} · ${alarmText(worst)}` };
  const key = health(d.runtimeStatus);
  return { key, rank: HEALTH_RANK[key] ?? 0, label: label('status', d.runtimeStatus || 'unknown') };
}

/** What the alarm is, in a few words: 水位超过报警线 / 设备离线（通信超时） / 视频故障：图像模糊. */
export function alarmText(a) {
  const zh = getLang() === 'zh';
  const sep = zh ? '：' : ': ';
  switch (a.kind) {
    case 'threshold': {
      const name = a.metric ? metricName(a.metric) : a.subject;
      if (metricDef(a.metric)?.type === 'boolean') return zh ? `${name}${t('ev_alarm')}` : `${name} ${t('ev_alarm')}`;
      const level = a.code?.split('.').pop();
      const line = t(level === 'alarm' ? 'alarmLine' : level === 'warning' ? 'warningLine' : 'thresholdLine');
      const side = t(a.direction === 'below' ? 'below' : 'above');
      return zh ? `${name}${side}${line}` : `${name} ${side} ${line}`;
    }
    case 'device_offline': {
      const reason = a.code && !['offline', 'online'].includes(a.code) ? label('reason', a.code) : '';
      return reason ? (zh ? `${t('ak_device_offline')}（${reason}）` : `${t('ak_device_offline')} (${reason})`) : t('ak_device_offline');
    }
    case 'video_fault':
      return `${t('ak_video_fault')}${sep}${label('check', a.subject)}`;
    case 'edge_offline':
      return `${t('ak_edge_offline')}${sep}${a.edge ?? a.subject}`;
    case 'quarantine':
      return `${t('ak_quarantine')}${sep}${a.subject}`;
    default:
      return t(`ak_${a.kind}`);
  }
}

/** "4.35 m" for the alarm's metric. */
export function alarmValue(a, v = a.value) {
  if (v === undefined || v === null) return '';
  if (a.kind !== 'threshold') return typeof v === 'number' ? fmtNumber(v) : String(v);
  if (metricDef(a.metric)?.type === 'boolean') return v ? t('yes') : t('no');
  const unit = displayUnit(a.unit ?? metricDef(a.metric)?.unit);
  return unit ? `${fmtNumber(v)} ${unit}` : fmtNumber(v);
}

export const alarmDuration = (a) => fmtDuration(a.durationMs ?? 0, getLang());

export function alarmBadge(a) {
  return h('span', { class: ['sev', `sev-${a.severity}`], title: label('alarmState', a.state) }, label('severity', a.severity));
}

export function stateBadge(a) {
  return h('span', { class: ['alarm-state', `as-${a.state}`] }, label('alarmState', a.state));
}

/** POSTs an acknowledgement; resolves to the updated alarm (also applied to the page's state). */
export async function acknowledge(id, comment) {
  const res = await fetch(`/api/v1/alarms/${id}/ack`, { method: 'POST', headers: authHeaders({ 'content-type': 'application/json' }), body: JSON.stringify({ comment }), cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error || `HTTP ${res.status}`);
  applyAlarm(body);
  return body;
}

/**
 * The acknowledge control for an alarm: a button that opens a comment field (operators), the acknowledgement
 * when there is one, nothing for viewers.
 */
export function ackControl(a, onDone) {
  if (a.acknowledgedBy) return h('span', { class: 'muted small acked', title: a.ackComment ?? '' }, `${t('ackDone')} · ${a.acknowledgedBy}`);
  if (!alarmState.canAck) return null;
  const box = h('span', { class: 'ack-box' });
  const open = () => {
    const input = h('input', { type: 'text', class: 'ack-comment', maxlength: 500, placeholder: t('ackPlaceholder') });
    const msg = h('span', { class: 'error small' });
    const send = h('button', {
      class: 'btn small primary ack-send',
      onclick: async (e) => {
        e.stopPropagation();
        send.disabled = true;
        try {
          const updated = await acknowledge(a.id, input.value.trim());
          onDone?.(updated);
        } catch (err) {
          msg.textContent = err.message;
          send.disabled = false;
        }
      },
    }, t('ack'));
    input.addEventListener('click', (e) => e.stopPropagation());
    input.addEventListener('keydown', (e) => e.key === 'Enter' && send.click());
    box.replaceChildren(input, send, msg);
    input.focus();
  };
  box.append(h('button', { class: 'btn small ack', 'data-alarm': a.id, onclick: (e) => (e.stopPropagation(), open()) }, t('ack')));
  return box;
}
