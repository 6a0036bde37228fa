// The device page's GB 3838-2002 panel: the latest sample's class with its deciding factor and each factor's
// class, and the class of each of the last days (daily means), from /api/v1/devices/{id}/water-quality.
import { apiJson, qs } from '../api.js';
import { WATER_QUALITY_METRICS } from '../analytics-i18n.js';
import { h } from '../dom.js';
import { fmtChinaDate, fmtTime } from '../format.js';
import { getLang, t } from '../i18n.js';
import { metricName } from '../state.js';
import { errorBox, fmtValue } from './common.js';

const DAY = 86400e3;

export const hasWaterQuality = (metrics) => metrics.some((m) => WATER_QUALITY_METRICS.includes(m));

const classBadge = (c) => h('span', { class: ['wq-class', `wq-${c === '劣V' ? 'VI' : c}`], 'data-class': c }, getLang() === 'zh' ? `${c}类` : `class ${c}`);
const factors = (list) => list.map((m) => metricName(m)).join(getLang() === 'zh' ? '、' : ', ');

/** A panel that loads itself; `signal` aborts its requests when the page goes. */
export function waterQualityPanel(id, signal) {
  const body = h('div', { class: 'wq-body' }, h('p', { class: 'muted' }, '…'));
  const panel = h('section', { class: 'panel water-quality' }, h('h2', {}, t('waterQuality')), body);
  (async () => {
    try {
      const now = Date.now();
      const [samples, days] = await Promise.all([
        apiJson(`/api/v1/devices/${encodeURIComponent(id)}/water-quality${qs({ period: 'sample', from: now - DAY, to: now })}`, { signal }),
        apiJson(`/api/v1/devices/${encodeURIComponent(id)}/water-quality${qs({ period: 'day', from: now - 7 * DAY, to: now })}`, { signal }),
      ]);
      const latest = samples.rows.at(-1);
      if (!latest && !days.rows.length) return body.replaceChildren(h('p', { class: 'muted no-wq' }, t('noWaterQuality')));
      body.replaceChildren(
        h('p', { class: 'muted small' }, `${t('waterBody')}: ${t(`wb_${samples.waterBody}`)}`),
        latest
          ? h('div', { class: 'wq-latest' },
              h('h3', {}, t('latestSample'), ' ', h('span', { class: 'muted small' }, fmtTime(latest.ts))),
              h('p', {}, classBadge(latest.class), ' ', h('span', { class: 'deciding' }, `${t('decidingFactor')}: ${factors(latest.deciding)}`)),
              h('table', { class: 'table compact wq-factors' }, h('tbody', {}, latest.factors.map((f) => h('tr', { 'data-metric': f.metric }, h('td', {}, metricName(f.metric)), h('td', { class: 'num' }, fmtValue(f.metric, f.value)), h('td', {}, classBadge(f.class)))))))
          : null,
        days.rows.length
          ? h('div', { class: 'wq-days' },
              h('h3', {}, t('dailyClass')),
              h('table', { class: 'table compact' }, h('tbody', {}, days.rows.slice().reverse().map((d) => h('tr', { 'data-day': d.ts }, h('td', { class: 'nowrap' }, fmtChinaDate(d.ts)), h('td', {}, classBadge(d.class)), h('td', { class: 'muted' }, factors(d.deciding)))))))
          : null,
      );
    } catch (err) {
      if (err?.name !== 'AbortError') body.replaceChildren(errorBox(err));
    }
  })();
  return panel;
}
