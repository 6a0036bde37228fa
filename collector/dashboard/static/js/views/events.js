// Alarms and events of all visible devices over a chosen range and minimum severity; live events are prepended.
import { apiJson, qs } from '../api.js';
import { h, select } from '../dom.js';
import { fmtTime } from '../format.js';
import { label, t } from '../i18n.js';
import { metricName, state } from '../state.js';
import { errorBox, eventText, fmtValue, severityBadge } from './common.js';

const RANGES = { '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const SEVERITIES = ['info', 'warning', 'major', 'critical'];
const MAX_ROWS = 2000;
const view = { range: '24h', severity: '' };

export function mountEvents(root, { navigate }) {
  const ctrl = new AbortController();
  const body = h('tbody');
  const count = h('span', { class: 'muted count' });
  const tools = h('div', { class: 'toolbar' });

  const deviceName = (id) => state.devices.get(id)?.name || id;
  const row = (e) =>
    h(
      'tr',
      { 'data-event': e.id, class: ['clickable', `row-${e.severity}`], onclick: () => navigate(`#/device/${encodeURIComponent(e.device)}`) },
      h('td', { class: 'nowrap' }, fmtTime(e.ts)),
      h('td', {}, severityBadge(e.severity)),
      h('td', {}, label('eventKind', e.kind)),
      h('td', {}, h('a', { href: `#/device/${encodeURIComponent(e.device)}` }, deviceName(e.device))),
      h('td', {}, state.devices.get(e.device)?.site?.name ?? ''),
      h('td', {}, e.metric ? metricName(e.metric) : ''),
      h('td', { class: 'num' }, e.value !== undefined ? fmtValue(e.metric, e.value) : ''),
      h('td', { class: 'num' }, e.threshold !== undefined ? fmtValue(e.metric, e.threshold) : ''),
      h('td', { class: 'event-text', title: e.message ?? '' }, eventText(e)),
    );

  const renderTools = () =>
    tools.replaceChildren(
      h('span', { class: 'seg' }, Object.keys(RANGES).map((r) => h('button', { class: ['btn', r === view.range && 'active'], onclick: () => ((view.range = r), renderTools(), load()) }, r))),
      h('label', {}, t('minSeverity'), ' ', select([['', t('allSeverities')], ...SEVERITIES.map((s) => [s, label('severity', s)])], view.severity, (v) => ((view.severity = v), load()))),
      h('span', { class: 'spacer' }),
      count,
    );

  async function load() {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'muted' }, '…')));
    try {
      const r = await apiJson(`/api/v1/events${qs({ from: Date.now() - RANGES[view.range], severity: view.severity })}`, { signal: ctrl.signal });
      const list = r.events.slice(-MAX_ROWS).reverse();
      body.replaceChildren(...list.map(row));
      if (!list.length) body.append(h('tr', { class: 'placeholder' }, h('td', { colspan: 9, class: 'empty' }, t('noEvents'))));
      count.textContent = `${r.count}`;
    } catch (err) {
      if (err?.name !== 'AbortError') body.replaceChildren(h('tr', {}, h('td', { colspan: 9 }, errorBox(err))));
    }
  }

  renderTools();
  root.replaceChildren(
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, t('navEvents')),
      tools,
      h('div', { class: 'table-wrap' }, h('table', { class: 'table events-table' },
        h('thead', {}, h('tr', {}, [t('time'), t('severity'), t('eventKind'), t('device'), t('site'), t('metric'), t('value'), t('threshold'), t('message')].map((c) => h('th', {}, c)))),
        body)),
    ),
  );
  void load();

  return {
    onLive(batch) {
      const min = view.severity ? SEVERITIES.indexOf(view.severity) : 0;
      const fresh = batch.events.filter((e) => SEVERITIES.indexOf(e.severity) >= min);
      if (!fresh.length) return;
      body.querySelector('.placeholder')?.remove();
      for (const e of fresh) body.prepend(row(e));
      count.textContent = String(Number(count.textContent || 0) + fresh.length);
      while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
    },
    unmount() {
      ctrl.abort();
    },
  };
}
