// The bureau's data completeness (到报率): per site and per device, one column per day or month, the missing
// intervals under each device; CSV export; and the daily report (日报) download as Excel or CSV.
import { apiJson, downloadFile, qs } from '../api.js';
import '../analytics-i18n.js';
import { h } from '../dom.js';
import { fmtChinaDate, fmtStep } from '../format.js';
import { getLang, t } from '../i18n.js';
import { errorBox } from './common.js';

const DAY = 86400e3;
const CST = 8 * 3600e3;
const RANGES = {
  last7d: { period: 'day', days: 7 },
  last30d: { period: 'day', days: 30 },
  thisMonth: { period: 'month', months: 1 },
  last3m: { period: 'month', months: 3 },
};
const view = { range: 'last7d' };

/** [from, to) of a range in Beijing time: whole days up to the end of today, or whole months up to now. */
function bounds(key, now = Date.now()) {
  const r = RANGES[key];
  const today = now - ((now + CST) % DAY);
  if (r.period === 'day') return { period: 'day', from: today - (r.days - 1) * DAY, to: today + DAY };
  const d = new Date(now + CST);
  return { period: 'month', from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - (r.months - 1), 1) - CST, to: now };
}

const pct = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)}%`);
const level = (rate) => (rate === null || rate === undefined ? 'na' : rate >= 0.95 ? 'good' : rate >= 0.8 ? 'fair' : 'poor');
const rateCell = (row) => h('td', { class: ['num', 'rate', `rate-${level(row.rate)}`], title: `${row.received} / ${row.expected}`, 'data-rate': row.rate ?? '' }, pct(row.rate));

/** "08:00–09:00" in Beijing time (dates when the range spans days). */
function rangeText(m) {
  const a = new Date(m.from + CST).toISOString();
  const b = new Date(m.to + CST).toISOString();
  const same = a.slice(0, 10) === b.slice(0, 10) || (b.slice(11, 16) === '00:00' && m.to - m.from <= DAY);
  const end = b.slice(11, 16) === '00:00' && same ? '24:00' : b.slice(11, 16);
  return same ? `${a.slice(0, 10)} ${a.slice(11, 16)}–${end}` : `${a.slice(0, 10)} ${a.slice(11, 16)} – ${b.slice(0, 10)} ${b.slice(11, 16)}`;
}

const scheduleText = (s) => `${t(`sched_${s.name}`)} · ${t('every')} ${fmtStep(s.intervalMs)}`;
const yesterday = () => fmtChinaDate(Date.now() - ((Date.now() + CST) % DAY) - DAY);

export function mountCompleteness(root, { navigate }) {
  const ctrl = new AbortController();
  const tools = h('div', { class: 'toolbar' });
  const sitesBox = h('div', { class: 'table-wrap' });
  const devicesBox = h('div', { class: 'table-wrap' });
  const note = h('p', { class: 'muted small unscheduled' });
  const dateInput = h('input', { type: 'date', class: 'report-date', value: yesterday(), max: fmtChinaDate(Date.now()) });
  const reportMsg = h('span', { class: 'muted report-msg' });

  const renderTools = () =>
    tools.replaceChildren(
      h('span', { class: 'seg' }, Object.keys(RANGES).map((k) => h('button', { class: ['btn', k === view.range && 'active'], 'data-range': k, onclick: () => ((view.range = k), renderTools(), load()) }, t(k)))),
      h('span', { class: 'spacer' }),
      h('button', {
        class: 'btn download-completeness',
        onclick: () => {
          const b = bounds(view.range);
          return downloadFile(`/api/v1/completeness${qs({ ...b, format: 'csv' })}`, `completeness-${b.period}.csv`, 'text/csv');
        },
      }, t('downloadCsv')),
    );

  function table(periods, rows, first) {
    return h('table', { class: 'table compact completeness' },
      h('thead', {}, h('tr', {}, first.map((c) => h('th', {}, c)), periods.map((p) => h('th', { class: 'num' }, p.period.length > 7 ? p.period.slice(5) : p.period)), h('th', { class: 'num' }, t('sumTotal')))),
      h('tbody', {}, rows));
  }

  async function load() {
    const b = bounds(view.range);
    devicesBox.replaceChildren(h('p', { class: 'muted' }, '…'));
    try {
      const r = await apiJson(`/api/v1/completeness${qs(b)}`, { signal: ctrl.signal });
      const periods = r.sites[0]?.rows ?? r.devices[0]?.rows ?? [];
      sitesBox.replaceChildren(table(periods, r.sites.map((s) => h('tr', { 'data-site': s.site }, h('td', {}, s.name || s.site || '–'), h('td', { class: 'num' }, s.devices), s.rows.map(rateCell), rateCell(s.total))), [t('site'), t('total')]));
      const rows = r.devices.flatMap((d) => {
        const missing = d.rows.flatMap((row) => row.missing.map(rangeText));
        const main = h('tr', { 'data-device': d.device, class: 'clickable', onclick: () => navigate(`#/device/${encodeURIComponent(d.device)}`) },
          h('td', {}, d.siteName || d.site || ''),
          h('td', {}, h('a', { href: `#/device/${encodeURIComponent(d.device)}` }, d.name || d.device)),
          h('td', { class: 'muted' }, scheduleText(d.schedule)),
          d.rows.map(rateCell),
          rateCell(d.total));
        const more = missing.length
          ? h('tr', { class: 'missing-row', 'data-missing-for': d.device }, h('td', { colspan: 3 + d.rows.length + 1, class: 'missing muted small' }, `${t('missing')}: ${missing.slice(0, 40).join(getLang() === 'zh' ? '；' : '; ')}${missing.length > 40 ? ' …' : ''}`))
          : null;
        return [main, more];
      });
      devicesBox.replaceChildren(table(periods, rows.flat().filter(Boolean), [t('site'), t('device'), t('schedule')]));
      note.textContent = r.unscheduled.length ? `${t('noSchedule')}${r.unscheduled.join(', ')}` : '';
    } catch (err) {
      if (err?.name !== 'AbortError') devicesBox.replaceChildren(errorBox(err));
    }
  }

  const download = async (format) => {
    reportMsg.textContent = '…';
    try {
      const date = dateInput.value || yesterday();
      await downloadFile(`/api/v1/reports/daily${qs({ date, format, part: format === 'csv' ? 'stations' : undefined })}`, `daily-report-${date}.${format}`, format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv');
      reportMsg.textContent = '';
    } catch (err) {
      reportMsg.textContent = `${t('loadError')}${err.message}`;
    }
  };

  renderTools();
  root.replaceChildren(
    h('section', { class: 'panel daily-report' },
      h('h2', {}, t('dailyReport')),
      h('div', { class: 'toolbar' },
        h('label', {}, t('reportDate'), ' ', dateInput),
        h('button', { class: 'btn primary download-report', onclick: () => download('xlsx') }, t('downloadXlsx')),
        h('button', { class: 'btn download-report-csv', onclick: () => download('csv') }, t('downloadReportCsv')),
        reportMsg)),
    h('section', { class: 'panel' }, h('h2', {}, t('completenessTitle')), tools, sitesBox, devicesBox, note),
  );
  void load();
  return {
    unmount() {
      ctrl.abort();
    },
  };
}
