// Edge gateways (admin tokens only): the fleet view of edge–cloud coordination — per edge its connection and last
// contact, software version, configuration applied vs desired (and why the edge refused one), clock offset,
// buffer fill and backlog, drops, devices by health, and its recent problem log lines on request.
import { apiJson } from '../api.js';
import { h } from '../dom.js';
import { fmtTime } from '../format.js';
import { t } from '../i18n.js';
import { errorBox } from './common.js';

const REFRESH_MS = 15_000;

const ago = (ms) => {
  if (!ms) return '–';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
};
const pct = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '–');
const offset = (ms) => (typeof ms === 'number' ? `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(1)} s` : '–');

function configCell(e) {
  const c = e.config ?? {};
  if (!c.desiredVersion) return h('span', { class: 'muted' }, e.managed === false ? t('fleetLocal') : '–');
  const text = `v${c.appliedVersion} / v${c.desiredVersion}`;
  const state = c.state === 'in_sync' ? t('fleetInSync') : c.state === 'failed' ? t('fleetFailed') : c.keyKnown ? t('fleetPending') : t('fleetWaiting');
  return h('span', { class: ['config-state', `config-${c.state}`] }, `${text} · ${state}`);
}

export function mountFleet(root) {
  const ctrl = new AbortController();
  const body = h('tbody');
  const stamp = h('span', { class: 'muted count' });
  const logBox = h('div', { class: 'fleet-logs' });

  async function showLogs(id) {
    logBox.replaceChildren(h('h3', {}, `${t('fleetLogs')} · ${id}`), h('p', { class: 'muted' }, '…'));
    try {
      const r = await apiJson(`/api/v1/admin/edges/${encodeURIComponent(id)}/logs?limit=100`, { signal: ctrl.signal });
      const lines = r.lines.map((l) => `${l.time ?? ''} ${String(l.level).toUpperCase()} ${l.msg ?? ''}${l.errors ? ` ${JSON.stringify(l.errors)}` : ''}`);
      logBox.replaceChildren(h('h3', {}, `${t('fleetLogs')} · ${id}`), h('pre', { class: 'log-lines' }, lines.length ? lines.join('\n') : t('fleetNoLogs')));
    } catch (err) {
      if (err?.name !== 'AbortError') logBox.replaceChildren(h('h3', {}, `${t('fleetLogs')} · ${id}`), errorBox(err));
    }
  }

  const row = (e) => {
    const d = e.devices ?? {};
    const problems = e.config?.state === 'failed' ? e.config.errors : [];
    return [
      h(
        'tr',
        { 'data-edge': e.id, class: [e.connected ? '' : 'row-offline'] },
        h('td', {}, h('strong', {}, e.id)),
        h('td', {}, h('span', { class: ['badge', e.connected ? 'h-online' : 'h-offline'] }, h('i', { class: 'dot' }), e.connected ? t('fleetUp') : t('fleetDown'))),
        h('td', { class: 'nowrap', title: fmtTime(e.lastSeen) }, ago(e.lastSeen)),
        h('td', {}, e.softwareVersion ?? '–'),
        h('td', {}, e.managed === undefined ? '–' : e.managed ? t('fleetManaged') : t('fleetUnmanaged')),
        h('td', {}, configCell(e)),
        h('td', { class: 'num' }, offset(e.clockOffsetMs)),
        h('td', { class: 'num' }, pct(e.buffer?.fill)),
        h('td', { class: 'num' }, e.buffer?.backlogItems ?? '–'),
        h('td', { class: 'num' }, e.droppedReadings ?? '–'),
        h('td', { class: 'num' }, e.devices ? `${d.online ?? 0} / ${d.degraded ?? 0} / ${d.offline ?? 0} / ${d.unknown ?? 0}` : '–'),
        h('td', {}, h('button', { class: 'btn', disabled: !e.connected, onclick: () => showLogs(e.id) }, t('fleetLogs'))),
      ),
      problems.length
        ? h('tr', { class: 'fleet-problems' }, h('td', { colspan: 12 }, h('span', { class: 'error' }, `${t('fleetRefused')} v${e.config.failedVersion}: `), problems.map((p) => h('code', {}, `${p.path}: ${p.message}`))))
        : undefined,
    ];
  };

  async function load() {
    try {
      const r = await apiJson('/api/v1/admin/edges', { signal: ctrl.signal });
      body.replaceChildren(...r.edges.flatMap(row).filter(Boolean));
      if (!r.edges.length) body.append(h('tr', {}, h('td', { colspan: 12, class: 'empty' }, t('fleetNone'))));
      stamp.textContent = `${r.count} · ${fmtTime(Date.now())}`;
    } catch (err) {
      if (err?.name !== 'AbortError') body.replaceChildren(h('tr', {}, h('td', { colspan: 12 }, errorBox(err))));
    }
  }

  const head = [t('fleetEdge'), t('fleetConn'), t('lastSeen'), t('fleetSoftware'), t('fleetMode'), t('fleetConfig'), t('fleetClock'), t('fleetBuffer'), t('fleetBacklog'), t('fleetDropped'), t('fleetDevices'), ''];
  root.replaceChildren(
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, t('navFleet')),
      h('div', { class: 'toolbar' }, h('span', { class: 'muted' }, t('fleetHint')), h('span', { class: 'spacer' }), stamp),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table fleet-table' }, h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))), body)),
      logBox,
    ),
  );
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return {
    unmount() {
      clearInterval(timer);
      ctrl.abort();
    },
  };
}
