// Overview: status counts, open alarms by severity and the open alarm list, the site map (markers coloured by the
// worst open alarm), the per-site summary and the filterable 一机一档 device list.
import { downloadFile } from '../api.js';
import { alarmBadge, countsBySeverity, openAlarms, SEVERITIES, worstOf } from '../alarms.js';
import { h, select } from '../dom.js';
import { fmtTime } from '../format.js';
import { enumValues, label, t } from '../i18n.js';
import { createMap } from '../map.js';
import { health, state } from '../state.js';
import { alarmHead, alarmRow } from './alarms.js';
import { errorBox, headline, siteLabel, statusBadge } from './common.js';

// Filters survive language switches and trips to a device page.
const filters = { text: '', kind: '', site: '', status: '' };
const HEALTHS = ['online', 'degraded', 'offline', 'unknown'];

function matches(d) {
  if (filters.kind && d.kind !== filters.kind) return false;
  if (filters.site && (d.site?.id || '') !== filters.site) return false;
  if (filters.status && health(d.runtimeStatus) !== filters.status) return false;
  if (filters.text) {
    const hay = [d.id, d.name, d.site?.id, d.site?.name, d.location?.address, d.address, d.manufacturer, d.model, d.serialNumber, d.maintainer]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    if (!filters.text.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w))) return false;
  }
  return true;
}

export function mountOverview(root, { navigate }) {
  const devices = () => [...state.devices.values()];

  // Summary cards
  const summary = h('div', { class: 'summary' });
  const renderSummary = () => {
    const counts = Object.fromEntries(HEALTHS.map((k) => [k, 0]));
    for (const d of devices()) counts[health(d.runtimeStatus)]++;
    summary.replaceChildren(
      h('div', { class: 'card stat' }, h('b', {}, String(state.devices.size)), h('span', {}, t('total'))),
      ...HEALTHS.map((k) =>
        h(
          'button',
          { class: ['card', 'stat', `h-${k}`, filters.status === k && 'active'], 'data-stat': k, onclick: () => setFilter('status', filters.status === k ? '' : k) },
          h('b', {}, String(counts[k])),
          h('span', {}, h('i', { class: 'dot' }), label('status', k)),
        ),
      ),
    );
  };

  // Open alarms: counts by severity and the list (worst first)
  const alarmSummary = h('div', { class: 'alarm-summary' });
  const alarmBody = h('tbody');
  const MAX_OPEN = 20;
  const renderAlarms = () => {
    const counts = countsBySeverity();
    alarmSummary.replaceChildren(
      ...[...SEVERITIES].reverse().map((sev) =>
        h('a', { href: '#/alarms', class: ['card', 'stat', 'alarm-stat', `sev-card-${sev}`, counts[sev] && 'has'], 'data-severity': sev }, h('b', {}, String(counts[sev])), h('span', {}, label('severity', sev)))),
    );
    const list = openAlarms();
    alarmBody.replaceChildren(...list.slice(0, MAX_OPEN).map((a) => alarmRow(a, { navigate, compact: true, onChange: () => (renderAlarms(), renderList(), map.refresh()) })));
    if (!list.length) alarmBody.append(h('tr', { class: 'placeholder' }, h('td', { colspan: 8, class: 'empty' }, t('noAlarms'))));
    else if (list.length > MAX_OPEN) alarmBody.append(h('tr', {}, h('td', { colspan: 8 }, h('a', { href: '#/alarms' }, `${t('allAlarms')} (${list.length})`))));
  };

  // Map
  const map = createMap(devices(), { onSelect: (id) => navigate(`#/device/${encodeURIComponent(id)}`), config: state.mapConfig });
  const unplaced = state.devices.size - map.placed.length;
  const legend = h(
    'div',
    { class: 'legend' },
    HEALTHS.map((k) => h('span', { class: `h-${k}` }, h('i', { class: 'dot' }), label('status', k))),
    h('span', { class: 'shape' }, '● ', label('kind', 'sensor')),
    h('span', { class: 'shape' }, '◆ ', label('kind', 'camera')),
    h('span', { class: 'shape' }, '▲ ', label('kind', 'station')),
    unplaced > 0 ? h('span', { class: 'muted' }, `${unplaced} ${t('mapNoCoords')}`) : null,
  );

  // Sites table
  const sitesBody = h('tbody');
  const renderSites = () => {
    const bySite = new Map();
    for (const d of devices()) {
      const id = d.site?.id || '';
      if (!bySite.has(id)) bySite.set(id, { id, name: siteLabel(d) || '–', type: d.site?.type, n: 0, online: 0, degraded: 0, offline: 0, unknown: 0 });
      const s = bySite.get(id);
      s.n++;
      s[health(d.runtimeStatus)]++;
    }
    sitesBody.replaceChildren(
      ...[...bySite.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((s) =>
          h(
            'tr',
            { class: 'clickable', onclick: () => setFilter('site', filters.site === s.id ? '' : s.id) },
            h('td', {}, s.name),
            h('td', {}, label('siteType', s.type)),
            h('td', { class: 'num' }, String(s.n)),
            h('td', { class: 'num' }, ...HEALTHS.filter((k) => s[k]).map((k) => h('span', { class: `mini h-${k}`, title: label('status', k) }, h('i', { class: 'dot' }), String(s[k])))),
          ),
        ),
    );
  };

  // Device list
  const kinds = [...new Set([...enumValues('kind'), ...devices().map((d) => d.kind).filter(Boolean)])];
  const sites = [...new Map(devices().filter((d) => d.site?.id).map((d) => [d.site.id, siteLabel(d)])).entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const text = h('input', { type: 'search', placeholder: t('filterText'), value: filters.text, class: 'filter-text', oninput: (e) => setFilter('text', e.target.value) });
  const kindSel = select([['', t('allKinds')], ...kinds.map((k) => [k, label('kind', k)])], filters.kind, (v) => setFilter('kind', v), { class: 'filter-kind' });
  const siteSel = select([['', t('allSites')], ...sites], filters.site, (v) => setFilter('site', v), { class: 'filter-site' });
  const statusSel = select([['', t('allStatuses')], ...HEALTHS.map((k) => [k, label('status', k)])], filters.status, (v) => setFilter('status', v), { class: 'filter-status' });
  const count = h('span', { class: 'muted count' });
  const exportMsg = h('span', { class: 'muted' });
  const exportBtn = h('button', {
    class: 'btn export',
    onclick: async () => {
      exportBtn.disabled = true;
      exportMsg.textContent = t('exporting');
      try {
        await downloadFile('/api/v1/records/export?format=csv', `records-${fmtTime(Date.now()).slice(0, 10)}.csv`, 'text/csv');
        exportMsg.textContent = '';
      } catch (err) {
        exportMsg.replaceChildren(errorBox(err));
      } finally {
        exportBtn.disabled = false;
      }
    },
  }, t('exportCsv'));

  const tbody = h('tbody');
  const rows = new Map();
  const row = (d) => {
    const worst = worstOf(d.id);
    return h(
      'tr',
      { class: ['clickable', worst && `row-${worst.severity}`], 'data-device': d.id, 'data-alarm': worst?.severity, onclick: () => navigate(`#/device/${encodeURIComponent(d.id)}`) },
      h('td', { class: 'nowrap' }, statusBadge(d.runtimeStatus), worst ? [' ', alarmBadge(worst)] : null),
      h('td', { class: 'mono' }, d.id),
      h('td', {}, h('a', { href: `#/device/${encodeURIComponent(d.id)}` }, d.name || d.id)),
      h('td', {}, label('kind', d.kind)),
      h('td', {}, siteLabel(d)),
      h('td', { class: 'latest-cell' }, headline(d.id)?.text ?? ''),
      h('td', {}, (d.sharingScope ?? []).map((b) => label('bureau', b)).join('、')),
      h('td', {}, [d.manufacturer, d.model].filter(Boolean).join(' ')),
      h('td', { class: 'nowrap' }, d.lastSeen ? fmtTime(d.lastSeen) : '–'),
    );
  };
  const renderList = () => {
    const list = devices().filter(matches).sort((a, b) => (a.site?.name ?? '').localeCompare(b.site?.name ?? '') || a.id.localeCompare(b.id));
    rows.clear();
    tbody.replaceChildren(...list.map((d) => {
      const tr = row(d);
      rows.set(d.id, tr);
      return tr;
    }));
    if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, t('noDevices'))));
    count.textContent = `${t('shown')} ${list.length} ${t('of')} ${state.devices.size}`;
    const filtered = filters.text || filters.kind || filters.site || filters.status;
    map.setFilter(filtered ? new Set(list.map((d) => d.id)) : undefined);
  };

  function setFilter(key, value) {
    filters[key] = value;
    if (key === 'site') siteSel.value = value;
    if (key === 'status') statusSel.value = value;
    renderList();
    renderSummary();
  }

  root.replaceChildren(
    summary,
    h('section', { class: 'panel open-alarms' },
      h('div', { class: 'panel-head' }, h('h2', {}, t('alarmsOpen')), h('a', { href: '#/alarms' }, t('allAlarms'))),
      alarmSummary,
      h('div', { class: 'table-wrap' }, h('table', { class: 'table compact alarms-table open-alarms-table' }, alarmHead(true), alarmBody))),
    h(
      'div',
      { class: 'grid-2' },
      h('section', { class: 'panel map-panel' }, h('h2', {}, t('map')), map.el, legend),
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, t('site')),
        h('table', { class: 'table compact' }, h('thead', {}, h('tr', {}, h('th', {}, t('site')), h('th', {}, t('siteType')), h('th', { class: 'num' }, t('total')), h('th', { class: 'num' }, t('status')))), sitesBody),
      ),
    ),
    h(
      'section',
      { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, t('devices')), count),
      h('div', { class: 'toolbar' }, text, kindSel, siteSel, statusSel, h('span', { class: 'spacer' }), exportMsg, exportBtn),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table devices-table' },
          h('thead', {}, h('tr', {}, [t('status'), t('id'), t('name'), t('kind'), t('site'), t('latestValue'), t('scope'), t('model'), t('lastSeen')].map((c) => h('th', {}, c)))),
          tbody,
        ),
      ),
    ),
  );
  map.mount();
  renderAlarms();
  renderSummary();
  renderSites();
  renderList();

  return {
    onLive(batch) {
      map.refresh();
      let statusChanged = false;
      if (batch.alarms.length) {
        renderAlarms();
        // An edge alarm concerns every device of the edge: redraw the whole list.
        if (batch.alarms.some((a) => !a.device)) renderList();
      }
      for (const id of batch.devices) {
        const old = rows.get(id);
        const d = state.devices.get(id);
        if (!old || !d) continue;
        if (old.querySelector('.badge')?.dataset.health !== health(d.runtimeStatus)) statusChanged = true;
        const tr = row(d);
        rows.set(id, tr);
        old.replaceWith(tr);
      }
      if (statusChanged || batch.events.length) {
        renderSummary();
        renderSites();
        if (filters.status) renderList();
      }
    },
    unmount() {
      map.destroy();
    },
  };
}
