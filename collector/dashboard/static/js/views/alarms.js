// Alarms: the bureau's alarms by state, severity and kind, with acknowledgement (operators), each alarm's history
// of transitions, and the notification delivery log (what was sent where, what failed). Live feed items update
// the open list as they arrive.
import { apiJson, qs } from '../api.js';
import { ackControl, alarmBadge, alarmDuration, alarmText, alarmValue, applyAlarm, SEVERITIES, stateBadge } from '../alarms.js';
import { h, select } from '../dom.js';
import { fmtTime } from '../format.js';
import { label, t } from '../i18n.js';
import { state } from '../state.js';
import { errorBox } from './common.js';

const KINDS = ['threshold', 'device_offline', 'video_fault', 'edge_offline', 'data_gap', 'quarantine'];
const STATES = ['open', 'active', 'acknowledged', 'cleared'];
const view = { state: 'open', severity: '', kind: '' };

const where = (a) => (a.device ? state.devices.get(a.device)?.name || a.deviceName || a.device : `${t('edge')} ${a.edge ?? a.subject}`);

/** One alarm as a table row (shared by the overview's open list and this page). */
export function alarmRow(a, { navigate, onChange, compact = false }) {
  const target = a.device ? `#/device/${encodeURIComponent(a.device)}` : `#/alarms/${a.id}`;
  return h(
    'tr',
    { class: ['clickable', `row-${a.severity}`, `alarm-${a.state}`], 'data-alarm': a.id, onclick: () => navigate(`#/alarms/${a.id}`) },
    h('td', {}, alarmBadge(a)),
    h('td', {}, stateBadge(a)),
    h('td', { class: 'nowrap' }, fmtTime(a.raisedAt)),
    h('td', {}, h('a', { href: target, onclick: (e) => e.stopPropagation() }, where(a))),
    compact ? null : h('td', {}, a.siteName || a.site || ''),
    h('td', { class: 'alarm-text' }, alarmText(a)),
    h('td', { class: 'num' }, alarmValue(a)),
    compact ? null : h('td', { class: 'num' }, a.peak !== undefined ? alarmValue(a, a.peak) : ''),
    h('td', { class: 'nowrap' }, alarmDuration(a)),
    h('td', { class: 'ack-cell' }, ackControl(a, (u) => onChange?.(u))),
  );
}

export const alarmHead = (compact = false) =>
  h('thead', {}, h('tr', {}, [t('severity'), t('alarmStateHead'), t('raisedAt'), t('device'), compact ? null : t('site'), t('alarmWhat'), t('value'), compact ? null : t('peak'), t('duration'), t('ack')].filter(Boolean).map((c) => h('th', {}, c))));

function detailView(a) {
  const rows = [
    [t('alarmWhat'), alarmText(a)], [t('severity'), `${label('severity', a.severity)}${a.peakSeverity !== a.severity ? ` (${t('peakSeverity')} ${label('severity', a.peakSeverity)})` : ''}`],
    [t('alarmStateHead'), label('alarmState', a.state)], [t('device'), where(a)], [t('site'), a.siteName || a.site || ''],
    [t('raisedAt'), fmtTime(a.raisedAt)], [t('clearedAt'), a.clearedAt ? fmtTime(a.clearedAt) : '–'], [t('duration'), alarmDuration(a)],
    [t('value'), alarmValue(a)], [t('peak'), a.peak !== undefined ? alarmValue(a, a.peak) : ''], [t('threshold'), a.threshold !== undefined ? alarmValue(a, a.threshold) : ''],
    [t('acknowledgedBy'), a.acknowledgedBy ? `${a.acknowledgedBy} · ${fmtTime(a.acknowledgedAt)}` : '–'], [t('ackComment'), a.ackComment ?? ''], [t('message'), a.message ?? ''],
  ];
  return h('dl', { class: 'record alarm-detail' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '–')]));
}

function historyTable(list) {
  return h('table', { class: 'table compact alarm-history' },
    h('thead', {}, h('tr', {}, [t('time'), t('transition'), t('severity'), t('value'), t('actor'), t('ackComment')].map((c) => h('th', {}, c)))),
    h('tbody', {}, list.map((e) => h('tr', { 'data-transition': e.transition, class: e.late ? 'late' : '' },
      h('td', { class: 'nowrap' }, fmtTime(e.ts), e.late ? h('span', { class: 'muted small' }, ` (${t('late')})`) : null),
      h('td', {}, label('transition', e.transition)), h('td', {}, label('severity', e.severity)), h('td', { class: 'num' }, e.value ?? ''),
      h('td', {}, e.actor?.startsWith('edge:') ? `${t('actorEdge')} ${e.actor.slice(5)}` : e.actor === 'collector' ? t('actorCollector') : (e.actor ?? '')),
      h('td', {}, e.comment ?? '')))));
}

function deliveryTable(list) {
  if (!list.length) return h('p', { class: 'muted no-deliveries' }, t('noDeliveries'));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table compact deliveries-table' },
    h('thead', {}, h('tr', {}, [t('time'), t('alarmId'), t('transition'), t('device'), t('channel'), t('deliveryStatus'), t('attempts'), t('target'), t('error')].map((c) => h('th', {}, c)))),
    h('tbody', {}, list.map((d) => h('tr', { 'data-delivery': d.id, 'data-status': d.status, class: `ds-${d.status}` },
      h('td', { class: 'nowrap' }, fmtTime(d.sentAt ?? d.createdAt)),
      h('td', {}, h('a', { href: `#/alarms/${d.alarmId}` }, `#${d.alarmId}`)),
      h('td', {}, label('transition', d.transition)),
      h('td', {}, d.device ? state.devices.get(d.device)?.name || d.device : ''),
      h('td', {}, `${d.channel}${d.channelType ? ` (${label('channelType', d.channelType)})` : ''}`),
      h('td', {}, h('span', { class: ['delivery-status', `ds-${d.status}`] }, label('deliveryStatus', d.status)), d.digest ? h('span', { class: 'muted small' }, ` · ${t('digestOf')} ${d.items}`) : null),
      h('td', { class: 'num' }, String(d.attempts)),
      h('td', { class: 'target' }, d.target ?? ''),
      h('td', { class: 'detail' }, [d.error, d.reason && d.reason !== d.error ? label('deliveryReason', d.reason) : null, d.nextAt ? `${t('nextAttempt')} ${fmtTime(d.nextAt)}` : null].filter(Boolean).join(' · '))))),
  ));
}

/** #/alarms/{id}: one alarm, its history and its notifications. */
function mountDetail(root, id, { navigate }) {
  const ctrl = new AbortController();
  const box = h('div');
  const load = async () => {
    try {
      const a = await apiJson(`/api/v1/alarms/${id}`, { signal: ctrl.signal });
      applyAlarm(a);
      const deliveries = await apiJson(`/api/v1/notify/deliveries${qs({ alarm: id })}`, { signal: ctrl.signal }).catch(() => ({ deliveries: [] }));
      box.replaceChildren(
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', {}, `${t('alarmNo')} #${a.id}`), alarmBadge(a), stateBadge(a), h('span', { class: 'spacer' }), ackControl(a, () => load())),
          detailView(a)),
        h('section', { class: 'panel' }, h('h2', {}, t('alarmHistory')), historyTable(a.history ?? [])),
        h('section', { class: 'panel' }, h('h2', {}, t('navDeliveries')), deliveryTable(deliveries.deliveries)),
      );
    } catch (err) {
      if (err?.name !== 'AbortError') box.replaceChildren(errorBox(err));
    }
  };
  root.replaceChildren(h('a', { href: '#/alarms', class: 'back' }, t('backAlarms')), box);
  void load();
  return {
    onLive(batch) {
      if (batch.alarms.some((a) => a.id === Number(id))) void load();
    },
    unmount: () => ctrl.abort(),
  };
}

export function mountAlarms(root, { navigate, id }) {
  if (id) return mountDetail(root, id, { navigate });
  const ctrl = new AbortController();
  const body = h('tbody');
  const count = h('span', { class: 'muted count' });
  const tools = h('div', { class: 'toolbar' });
  const renderTools = () =>
    tools.replaceChildren(
      h('span', { class: 'seg' }, STATES.map((s) => h('button', { class: ['btn', s === view.state && 'active'], 'data-state': s, onclick: () => ((view.state = s), renderTools(), load()) }, label('alarmState', s)))),
      select([['', t('allSeverities')], ...SEVERITIES.map((s) => [s, label('severity', s)])], view.severity, (v) => ((view.severity = v), load()), { class: 'filter-severity' }),
      select([['', t('allAlarmKinds')], ...KINDS.map((k) => [k, label('alarmKind', k)])], view.kind, (v) => ((view.kind = v), load()), { class: 'filter-kind' }),
      h('span', { class: 'spacer' }),
      count,
    );
  const render = (list) => {
    body.replaceChildren(...list.map((a) => alarmRow(a, { navigate, onChange: () => load() })));
    if (!list.length) body.append(h('tr', { class: 'placeholder' }, h('td', { colspan: 10, class: 'empty' }, t('noAlarms'))));
    count.textContent = String(list.length);
  };
  async function load() {
    try {
      const r = await apiJson(`/api/v1/alarms${qs({ state: view.state, severity: view.severity, kind: view.kind, from: view.state === 'cleared' ? Date.now() - 30 * 86400e3 : undefined })}`, { signal: ctrl.signal });
      for (const a of r.alarms) applyAlarm(a);
      render(r.alarms);
    } catch (err) {
      if (err?.name !== 'AbortError') body.replaceChildren(h('tr', {}, h('td', { colspan: 10 }, errorBox(err))));
    }
  }
  renderTools();
  root.replaceChildren(
    h('section', { class: 'panel alarms-panel' },
      h('h2', {}, t('navAlarms')),
      tools,
      h('div', { class: 'table-wrap' }, h('table', { class: 'table alarms-table' }, alarmHead(), body))),
  );
  void load();
  return {
    onLive(batch) {
      if (batch.alarms.length) void load();
    },
    unmount: () => ctrl.abort(),
  };
}

/** #/deliveries: the delivery log of the bureau's notifications. */
export function mountDeliveries(root) {
  const ctrl = new AbortController();
  const box = h('div');
  const statusView = { status: '' };
  const tools = h('div', { class: 'toolbar' });
  const renderTools = () => tools.replaceChildren(select([['', t('allDeliveryStatuses')], ...['sent', 'failed', 'retrying', 'queued', 'held'].map((s) => [s, label('deliveryStatus', s)])], statusView.status, (v) => ((statusView.status = v), load()), { class: 'filter-status' }));
  async function load() {
    try {
      const r = await apiJson(`/api/v1/notify/deliveries${qs({ status: statusView.status, limit: 500 })}`, { signal: ctrl.signal });
      box.replaceChildren(deliveryTable(r.deliveries));
    } catch (err) {
      if (err?.name !== 'AbortError') box.replaceChildren(errorBox(err));
    }
  }
  renderTools();
  root.replaceChildren(h('section', { class: 'panel deliveries-panel' }, h('h2', {}, t('navDeliveries')), h('p', { class: 'muted small' }, t('deliveriesHint')), tools, box));
  void load();
  const timer = setInterval(() => void load(), 10_000);
  return {
    onLive(batch) {
      if (batch.alarms.length) setTimeout(() => void load(), 1500); // deliveries follow transitions within a second or two
    },
    unmount: () => {
      clearInterval(timer);
      ctrl.abort();
    },
  };
}
