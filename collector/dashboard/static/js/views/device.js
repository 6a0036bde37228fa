// One device: latest values, a chart of any metric with its effective threshold lines, camera snapshot/stream
// health/quality, the 一机一档 record with its change history, the device's alarms (acknowledged here by
// operators) and events. Live feed items update it.
import { api, apiJson, apiJsonOr404, ApiError, qs } from '../api.js';
import { createChart } from '../chart.js';
import { h, select } from '../dom.js';
import { fmtStep, fmtTime, redactUrl } from '../format.js';
import { fieldEnum, fieldLabel, getLang, label, reasonText, t } from '../i18n.js';
import { addCustomMetrics, metricDef, metricName, state, thresholdsFor } from '../state.js';
import { applyAlarm } from '../alarms.js';
import { alarmHead, alarmRow } from './alarms.js';
import { errorBox, eventText, fmtValue, severityBadge, siteLabel, statusBadge, verdictBadge } from './common.js';
import { RAIN_METRICS } from '../analytics-i18n.js';
import { hasWaterQuality, waterQualityPanel } from './water-quality.js';

const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const NICE_STEPS = [1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3];
const TARGET_POINTS = 300;
const AGGS = ['avg', 'min', 'max', 'last'];
const VIDEO_HEALTH = ['video_online', 'video_fps', 'video_bitrate_kbps', 'video_first_frame_ms', 'video_decode_errors'];

/** A calendar-friendly step that gives about TARGET_POINTS points over `rangeMs`. */
export const stepForRange = (rangeMs) => NICE_STEPS.find((st) => st >= rangeMs / TARGET_POINTS) ?? 86400e3;

const RECORD_GROUPS = [
  ['g_basic', [['f_id', (r) => r.id], ['f_name', (r) => r.name], ['f_kind', (r) => label('kind', r.kind)], ['f_profileId', (r) => r.profileId], ['f_manufacturer', (r) => r.manufacturer], ['f_model', (r) => r.model], ['f_serialNumber', (r) => r.serialNumber], ['f_firmware', (r) => r.firmware], ['f_address', (r) => r.address]]],
  ['g_location', [['f_longitude', (r) => r.location?.longitude], ['f_latitude', (r) => r.location?.latitude], ['f_locAddress', (r) => r.location?.address], ['f_divisionCode', (r) => r.location?.divisionCode], ['f_siteId', (r) => r.site?.id], ['f_siteName', (r) => r.site?.name], ['f_siteType', (r) => label('siteType', r.site?.type)]]],
  ['g_management', [['f_scenario', (r) => r.scenario], ['f_industry', (r) => r.industry], ['f_sharingScope', (r) => (r.sharingScope ?? []).map((b) => label('bureau', b)).join('、')], ['f_installedDate', (r) => r.installedDate], ['f_maintainer', (r) => r.maintainer], ['f_maintainerContact', (r) => r.maintainerContact], ['f_lifecycle', (r) => label('lifecycle', r.lifecycle)]]],
  ['g_runtime', [['f_runtimeStatus', (r) => label('status', r.runtimeStatus)], ['f_statusReason', (r) => reasonText(r.statusReason)], ['f_lastSeen', (r) => (r.lastSeen ? fmtTime(r.lastSeen) : '')], ['f_edgeId', (r) => r.edgeId], ['f_updatedAt', (r) => (r.updatedAt ? fmtTime(r.updatedAt) : '')]]],
  ['g_camera', [['f_cameraType', (r) => label('cameraType', r.camera?.cameraType)], ['f_fillLight', (r) => label('fillLight', r.camera?.fillLight)], ['f_direction', (r) => label('direction', r.camera?.direction)], ['f_encoding', (r) => r.camera?.encoding], ['f_resolution', (r) => r.camera?.resolution], ['f_frameRate', (r) => r.camera?.frameRate], ['f_bitrateKbps', (r) => r.camera?.bitrateKbps], ['f_ptz', (r) => (r.camera?.ptz === undefined ? '' : r.camera.ptz ? t('yes') : t('no'))], ['f_recordRetentionDays', (r) => r.camera?.recordRetentionDays], ['f_streamUris', (r) => (r.camera?.streamUris ?? []).map(redactUrl).join('\n')], ['f_snapshotUri', (r) => (r.camera?.snapshotUri ? redactUrl(r.camera.snapshotUri) : '')], ['f_hardwareId', (r) => r.camera?.hardwareId]]],
];

function recordView(r) {
  return RECORD_GROUPS.filter(([g]) => g !== 'g_camera' || r.camera).map(([group, fields]) =>
    h(
      'div',
      { class: 'record-group' },
      h('h3', {}, t(group)),
      h('dl', { class: 'record' }, fields.flatMap(([key, get]) => {
        const v = get(r);
        return [h('dt', {}, t(key)), h('dd', { 'data-field': key.slice(2) }, v === undefined || v === null || v === '' ? '–' : String(v))];
      })),
    ),
  );
}

function eventRow(e) {
  return h(
    'tr',
    { 'data-event': e.id },
    h('td', { class: 'nowrap' }, fmtTime(e.ts)),
    h('td', {}, severityBadge(e.severity)),
    h('td', {}, label('eventKind', e.kind)),
    h('td', {}, e.metric ? metricName(e.metric) : ''),
    h('td', { class: 'num' }, e.value !== undefined ? fmtValue(e.metric, e.value) : ''),
    h('td', { class: 'num' }, e.threshold !== undefined ? fmtValue(e.metric, e.threshold) : ''),
    h('td', { class: 'event-text', title: e.message ?? '' }, eventText(e)),
  );
}

/** A changed value in words: enumeration labels, 是/否, lists, credentials stripped from URLs. */
function changeValue(path, v) {
  if (v === null || v === undefined || v === '') return '–';
  if (Array.isArray(v)) return v.length ? v.map((x) => changeValue(path, x)).join(path.endsWith('Uris') ? '\n' : '、') : '–';
  if (typeof v === 'boolean') return v ? t('yes') : t('no');
  const en = fieldEnum(path);
  if (en) return label(en, String(v));
  if (typeof v === 'object') return redactUrl(JSON.stringify(v));
  return redactUrl(String(v));
}

/** One line of a history entry: "经度：121.401 → 121.402" with the 一机一档 label of the field. */
function changeLine(path, before, after) {
  return h('div', { class: 'change', 'data-field': path }, h('b', {}, fieldLabel(path)), getLang() === 'zh' ? '：' : ': ', h('span', { class: 'before' }, changeValue(path, before)), ' → ', h('span', { class: 'after' }, changeValue(path, after)));
}

/** "edge:edge-01" → "网关 edge-01"; other actors (admin token names) as they are. */
const actorText = (actor) => (typeof actor === 'string' && actor.startsWith('edge:') ? `${t('actorEdge')} ${actor.slice(5)}` : actor);

/** The check's name in words (图像模糊), with the code kept for the curious in the title. */
const checkName = (c) => h('span', { class: 'check-name', title: c.name }, label('check', c.name));

function qualityView(results) {
  const [latest, ...older] = results;
  const score = (c) => (typeof c.score === 'number' ? c.score.toFixed(2) : '');
  return [
    h('h4', {}, t('latestCheck'), ' ', h('span', { class: 'muted small' }, fmtTime(latest.ts)), ' ', verdictBadge(latest.verdict)),
    h('table', { class: 'table compact quality quality-latest' },
      h('thead', {}, h('tr', {}, h('th', {}, t('checks')), h('th', {}, t('verdict')), h('th', { class: 'num' }, t('score')), h('th', {}, t('detail')))),
      h('tbody', {}, (latest.checks ?? []).map((c) => h('tr', { 'data-check': c.name }, h('td', {}, checkName(c)), h('td', {}, verdictBadge(c.verdict)), h('td', { class: 'num' }, score(c)), h('td', { class: 'detail' }, c.detail ?? ''))))),
    older.length
      ? [h('h4', {}, t('checkHistory')),
        h('table', { class: 'table compact quality quality-history' },
          h('thead', {}, h('tr', {}, h('th', {}, t('time')), h('th', {}, t('verdict')), h('th', {}, t('problems')))),
          // Each earlier result by its problems only: repeating every passing check per row says nothing.
          h('tbody', {}, older.map((q) => {
            const bad = (q.checks ?? []).filter((c) => c.verdict !== 'ok' && c.verdict !== 'unknown');
            return h('tr', {}, h('td', { class: 'nowrap' }, fmtTime(q.ts)), h('td', {}, verdictBadge(q.verdict)),
              h('td', {}, bad.length ? bad.map((c) => h('span', { class: 'check', title: c.detail ?? '' }, verdictBadge(c.verdict), ' ', checkName(c), ` ${score(c)}`)) : h('span', { class: 'muted' }, t('allOk'))));
          })))]
      : null,
  ];
}

export function mountDevice(root, { id, params, navigate }) {
  const ctrl = new AbortController();
  const opts = { signal: ctrl.signal };
  let device = state.devices.get(id);
  let view = { metric: params.get('metric') || '', range: RANGES[params.get('range')] ? params.get('range') : '24h', agg: AGGS.includes(params.get('agg')) ? params.get('agg') : 'avg' };
  // Without a range in the URL the chart picks its own: 24 h, narrowed to the data when the device is younger.
  let autoRange = !RANGES[params.get('range')];
  let chart;
  let chartResolution;
  let metrics = [];
  /** The device's stored series: one per metric and aggregate variant ({ metric, aggregate, periodS }). */
  let variants = [];
  let loadSeq = 0;

  const head = h('div', { class: 'device-head' });
  const latestGrid = h('div', { class: 'latest-grid' });
  const chartBox = h('div', { class: 'chart-box' });
  const chartInfo = h('span', { class: 'muted chart-info' });
  const chartTools = h('div', { class: 'toolbar' });
  const cameraBox = h('div');
  const analyticsBox = h('div');
  const recordBox = h('div', { class: 'record-box' });
  const eventsBody = h('tbody');
  const historyBox = h('div');
  const alarmsBody = h('tbody');
  // The lines in effect: those the record says the edge applies (device/site levels from the city); without them,
  // the lines this device's threshold alarms carried (newest first: what the edge really compared against) over
  // the profile's defaults.
  let alarmLines = new Map();
  const effectiveThresholds = (metric) => {
    const configured = thresholdsFor(device, metric);
    if (device?.thresholds?.some((x) => x.metric === metric)) return configured;
    const seen = alarmLines.get(metric);
    return seen ? { ...configured, ...seen, direction: seen.direction ?? configured?.direction } : configured;
  };

  const syncUrl = () => history.replaceState(null, '', `#/device/${encodeURIComponent(id)}${qs({ ...view, range: autoRange ? undefined : view.range })}`);

  function renderHead() {
    const d = device ?? { id };
    head.replaceChildren(
      h('a', { href: '#/', class: 'back' }, t('back')),
      h('h2', {}, d.name || d.id, ' ', h('span', { class: 'mono muted' }, d.id)),
      h('div', { class: 'head-meta' }, statusBadge(d.runtimeStatus), d.statusReason ? h('span', { class: 'muted status-reason' }, reasonText(d.statusReason)) : null, h('span', { class: 'muted' }, label('kind', d.kind)), h('span', { class: 'muted' }, siteLabel(d)), h('span', { class: 'muted' }, `${t('lastSeen')}: ${d.lastSeen ? fmtTime(d.lastSeen) : '–'}`)),
    );
  }

  function latestCard(metric, row) {
    const th = effectiveThresholds(metric);
    let level = '';
    if (th && typeof row.value === 'number') {
      const over = (lim) => lim !== undefined && (th.direction === 'below' ? row.value <= lim : row.value >= lim);
      level = over(th.alarm) ? 'lvl-alarm' : over(th.warning) ? 'lvl-warning' : '';
    } else if (th?.when !== undefined && row.value === th.when) level = 'lvl-alarm';
    return h(
      'button',
      { class: ['latest-card', level, metric === view.metric && 'active'], 'data-metric': metric, onclick: () => chooseMetric(metric) },
      h('span', { class: 'metric-name' }, metricName(metric)),
      h('b', { class: 'value' }, fmtValue(metric, row.value, row.unit)),
      h('span', { class: 'muted small' }, fmtTime(row.ts), row.quality && row.quality !== 'good' ? h('span', { class: `q q-${row.quality}` }, ` · ${t(`quality_${row.quality}`)}`) : null),
    );
  }

  function renderLatest() {
    const m = state.latest.get(id);
    if (!m || !m.size) return latestGrid.replaceChildren(h('p', { class: 'muted' }, t('noLatest')));
    latestGrid.replaceChildren(...[...m].sort(([a], [b]) => a.localeCompare(b)).map(([metric, row]) => latestCard(metric, row)));
  }

  function renderChartTools() {
    const names = [...new Set([...metrics, ...(state.latest.get(id)?.keys() ?? [])])].sort();
    chartTools.replaceChildren(
      h('label', {}, t('metric'), ' ', select(names.map((n) => [n, metricName(n)]), view.metric, chooseMetric, { class: 'metric-select' })),
      h('span', { class: 'seg' }, Object.keys(RANGES).map((r) => h('button', { class: ['btn', r === view.range && 'active'], 'data-range': r, onclick: () => chooseRange(r) }, r))),
      // Rainfall has one meaning here (period totals); the aggregate choice is for everything else.
      RAIN_METRICS.includes(view.metric) ? null : h('label', {}, t('agg'), ' ', select(AGGS.map((a) => [a, t(`agg${a[0].toUpperCase()}${a.slice(1)}`)]), view.agg, (a) => ((view.agg = a), syncUrl(), loadChart()))),
      h('span', { class: 'spacer' }),
      chartInfo,
    );
  }

  async function loadChart() {
    const seq = ++loadSeq;
    if (!view.metric) {
      chartBox.replaceChildren(h('p', { class: 'muted' }, t('noMetrics')));
      return;
    }
    const to = Date.now();
    const range = RANGES[view.range];
    // Rainfall is read as period totals: bars per clock hour up to a day, per hydrological day (08:00–08:00) beyond.
    const rain = RAIN_METRICS.includes(view.metric);
    const stepFor = (ms) => (rain ? (ms <= RANGES['24h'] ? 3600e3 : 86400e3) : stepForRange(ms));
    // A metric that comes as period aggregates (HJ 212 minute/hour data: avg, min, max) and no samples is drawn as
    // the average line inside a min–max band of the same period.
    const mine = variants.filter((v) => v.metric === view.metric);
    const avg = mine.filter((v) => v.aggregate === 'avg').sort((a, b) => a.periodS - b.periodS)[0];
    const aggregated = !rain && !mine.some((v) => v.aggregate === 'sample') && avg && mine.some((v) => v.aggregate === 'min' && v.periodS === avg.periodS) && mine.some((v) => v.aggregate === 'max' && v.periodS === avg.periodS);
    const url = (from, step, extra) => `/api/v1/devices/${encodeURIComponent(id)}/series/${encodeURIComponent(view.metric)}${qs({ from, to, step, ...extra })}`;
    const series = (from, step) =>
      apiJson(rain ? url(from - (from % step), step, { agg: 'sum' }) : url(from, step, aggregated ? { aggregate: 'avg', period: avg.periodS, agg: 'avg' } : { agg: view.agg }), opts);
    const bandOf = async (from, step) => {
      if (!aggregated) return undefined;
      const [lower, upper] = await Promise.all([
        apiJson(url(from, step, { aggregate: 'min', period: avg.periodS, agg: 'min' }), opts),
        apiJson(url(from, step, { aggregate: 'max', period: avg.periodS, agg: 'max' }), opts),
      ]);
      return { lower: lower.points, upper: upper.points };
    };
    chartInfo.textContent = '…';
    try {
      let from = to - range;
      let step = stepFor(range);
      let r = await series(from, step);
      let since;
      if (autoRange) {
        // A device younger than the range: start the chart shortly before its first point rather than squeezing the
        // data against the right edge; nothing in 24 h: look back 30 days first.
        if (!r.points.length && range < RANGES['30d']) {
          from = to - RANGES['30d'];
          step = stepFor(RANGES['30d']);
          r = await series(from, step);
        }
        const first = r.points[0]?.ts;
        if (first !== undefined && first > from + (to - from) / 4) {
          from = Math.max(from, Math.floor(first - Math.max((to - first) * 0.05, 1000)));
          step = stepFor(to - from);
          r = await series(from, step);
          since = first;
        }
      }
      const band = await bandOf(from, step);
      if (seq !== loadSeq) return;
      const def = metricDef(view.metric);
      if (rain) from -= from % r.step;
      // Hourly bars carry the 1-hour intensity lines, daily bars the 24-hour ones (profile totalAlarms).
      const thresholds = rain ? thresholdsFor(device, r.step <= 3600e3 ? 'rainfall_1h' : 'rainfall_24h') : effectiveThresholds(view.metric);
      chart = createChart({ points: r.points, from, to, unit: r.unit || def?.unit, isBoolean: def?.type === 'boolean', thresholds, step: r.step, band, bars: rain });
      chartBox.dataset.aggregate = aggregated ? `avg/${avg.periodS}` : '';
      chartResolution = r.resolution;
      chartBox.replaceChildren(chart.el);
      chartBox.dataset.metric = view.metric;
      chartBox.dataset.from = String(from);
      chartBox.dataset.to = String(to);
      const res = r.resolution === 'raw' ? t('raw') : r.resolution === '1m' ? t('rollup1m') : r.resolution === '1h' ? t('rollup1h') : r.resolution;
      const total = rain ? ` · ${t(r.step <= 3600e3 ? 'hourlyTotals' : 'dailyTotals')} · ${t('rainTotal')} ${fmtValue(view.metric, Math.round(r.points.reduce((a, p) => a + p.value, 0) * 1e3) / 1e3)}` : '';
      chartInfo.textContent = `${aggregated ? `${t('periodAvgBand')} (${fmtStep(avg.periodS * 1000)}) · ` : ''}${t('resolution')}: ${res}${r.step ? ` · ${t('step')} ${fmtStep(r.step)}` : ''} · ${r.points.length} ${t('points')}${total}${since ? ` · ${t('dataSince')} ${fmtTime(since)}` : ''}`;
      chartBox.dataset.total = rain ? String(r.points.reduce((a, p) => a + p.value, 0)) : '';
    } catch (err) {
      if (err?.name === 'AbortError' || seq !== loadSeq) return;
      chart = undefined;
      chartInfo.textContent = '';
      chartBox.replaceChildren(err instanceof ApiError && err.status === 404 ? h('p', { class: 'muted' }, t('noSeries')) : errorBox(err));
    }
  }

  function chooseMetric(m) {
    if (!m || m === view.metric) return;
    view.metric = m;
    syncUrl();
    renderLatest();
    renderChartTools();
    void loadChart();
  }

  function chooseRange(r) {
    autoRange = false;
    view.range = r;
    syncUrl();
    renderChartTools();
    void loadChart();
  }

  async function loadEvents() {
    try {
      const r = await apiJson(`/api/v1/events${qs({ device: id, from: Date.now() - RANGES['30d'] })}`, opts);
      const list = r.events.slice().reverse();
      eventsBody.replaceChildren(...list.map(eventRow));
      if (!list.length) eventsBody.append(h('tr', { class: 'placeholder' }, h('td', { colspan: 7, class: 'empty' }, t('noEvents'))));
    } catch (err) {
      if (err?.name !== 'AbortError') eventsBody.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, errorBox(err))));
    }
  }

  async function loadAlarms() {
    try {
      const r = await apiJson(`/api/v1/alarms${qs({ device: id, from: Date.now() - RANGES['30d'] })}`, opts);
      for (const a of r.alarms) applyAlarm(a);
      const lines = new Map();
      for (const a of r.alarms) {
        if (a.kind !== 'threshold' || !a.metric || lines.has(a.metric) || !a.thresholds) continue;
        lines.set(a.metric, { ...a.thresholds, ...(a.direction ? { direction: a.direction } : {}) });
      }
      const changed = JSON.stringify([...lines]) !== JSON.stringify([...alarmLines]);
      alarmLines = lines;
      alarmsBody.replaceChildren(...r.alarms.map((a) => alarmRow(a, { navigate, compact: true, onChange: () => void loadAlarms() })));
      if (!r.alarms.length) alarmsBody.append(h('tr', { class: 'placeholder' }, h('td', { colspan: 8, class: 'empty' }, t('noDeviceAlarms'))));
      if (changed) {
        renderLatest();
        void loadChart();
      }
    } catch (err) {
      if (err?.name !== 'AbortError') alarmsBody.replaceChildren(h('tr', {}, h('td', { colspan: 8 }, errorBox(err))));
    }
  }

  async function loadHistory() {
    try {
      const r = await apiJson(`/api/v1/devices/${encodeURIComponent(id)}/history`, opts);
      historyBox.replaceChildren(
        r.history.length
          ? h('table', { class: 'table compact history' }, h('thead', {}, h('tr', {}, h('th', {}, t('time')), h('th', {}, t('actor')), h('th', {}, t('changes')))),
              h('tbody', {}, r.history.slice(0, 50).map((e) => h('tr', {}, h('td', { class: 'nowrap' }, fmtTime(e.ts)), h('td', {}, actorText(e.actor)), h('td', { class: 'changes' }, Object.entries(e.changes).map(([path, [a, b]]) => changeLine(path, a, b)))))))
          : h('p', { class: 'muted' }, t('noHistory')),
      );
    } catch (err) {
      if (err?.name !== 'AbortError') historyBox.replaceChildren(errorBox(err));
    }
  }

  let snapshotUrl;
  async function loadSnapshot(box) {
    box.replaceChildren(h('p', { class: 'muted' }, '…'));
    try {
      const res = await api(`/api/v1/cameras/${encodeURIComponent(id)}/snapshot`, { ...opts, accept: 'image/jpeg' });
      const blob = await res.blob();
      if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
      snapshotUrl = URL.createObjectURL(blob);
      const taken = Date.parse(res.headers.get('x-snapshot-time') ?? '');
      const size = res.headers.get('x-snapshot-width') ? ` · ${res.headers.get('x-snapshot-width')}×${res.headers.get('x-snapshot-height')}` : '';
      box.replaceChildren(h('img', { src: snapshotUrl, alt: t('snapshot'), class: 'snapshot' }), h('p', { class: 'muted small snapshot-time' }, Number.isFinite(taken) ? fmtTime(taken) : '', size));
    } catch (err) {
      if (err?.name === 'AbortError') return;
      box.replaceChildren(err instanceof ApiError && err.status === 404 ? h('p', { class: 'muted no-snapshot' }, t('noSnapshot')) : errorBox(err));
    }
  }

  function renderStreamHealth(box) {
    const m = state.latest.get(id);
    const rows = VIDEO_HEALTH.filter((k) => m?.has(k)).map((k) => h('tr', {}, h('td', {}, metricName(k)), h('td', { class: 'num' }, fmtValue(k, m.get(k).value, m.get(k).unit)), h('td', { class: 'muted nowrap' }, fmtTime(m.get(k).ts))));
    box.replaceChildren(rows.length ? h('table', { class: 'table compact' }, h('tbody', {}, rows)) : h('p', { class: 'muted' }, t('noLatest')));
  }

  async function loadQuality(box) {
    try {
      const r = await apiJsonOr404(`/api/v1/cameras/${encodeURIComponent(id)}/quality?limit=20`, opts);
      const results = r?.results ?? [];
      if (!results.length) return box.replaceChildren(h('p', { class: 'muted no-quality' }, t('noQuality')));
      box.replaceChildren(...qualityView(results).flat().filter(Boolean));
    } catch (err) {
      if (err?.name !== 'AbortError') box.replaceChildren(errorBox(err));
    }
  }

  const streamBox = h('div');
  function renderCamera() {
    if (device?.kind !== 'camera' && !device?.camera) return cameraBox.replaceChildren();
    const snapBox = h('div', { class: 'snapshot-box' });
    const qualityBox = h('div');
    cameraBox.replaceChildren(
      h('section', { class: 'panel' },
        h('h2', {}, t('camera')),
        h('div', { class: 'grid-3' },
          h('div', {}, h('div', { class: 'panel-head' }, h('h3', {}, t('snapshot')), h('button', { class: 'btn small refresh-camera', onclick: () => (loadSnapshot(snapBox), loadQuality(qualityBox)) }, t('refresh'))), snapBox),
          h('div', {}, h('h3', {}, t('streamHealth')), streamBox),
          h('div', {}, h('h3', {}, t('quality')), qualityBox),
        ),
      ),
    );
    renderStreamHealth(streamBox);
    void loadSnapshot(snapBox);
    void loadQuality(qualityBox);
  }

  root.replaceChildren(
    head,
    h('section', { class: 'panel' }, h('h2', {}, t('latest')), latestGrid),
    h('section', { class: 'panel' }, h('h2', {}, t('chart')), chartTools, chartBox),
    analyticsBox,
    cameraBox,
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel' }, h('h2', {}, t('record')), recordBox),
      h('div', {},
        h('section', { class: 'panel device-alarms' }, h('h2', {}, t('deviceAlarms')),
          h('div', { class: 'table-wrap' }, h('table', { class: 'table compact alarms-table' }, alarmHead(true), alarmsBody))),
        h('section', { class: 'panel' }, h('h2', {}, t('alarms')),
          h('div', { class: 'table-wrap' }, h('table', { class: 'table compact events-table' }, h('thead', {}, h('tr', {}, [t('time'), t('severity'), t('eventKind'), t('metric'), t('value'), t('threshold'), t('message')].map((c) => h('th', {}, c)))), eventsBody))),
        h('section', { class: 'panel' }, h('h2', {}, t('history')), historyBox),
      ),
    ),
  );
  renderHead();
  renderLatest();

  (async () => {
    try {
      const rec = await apiJson(`/api/v1/devices/${encodeURIComponent(id)}`, opts);
      variants = rec.metrics ?? [];
      metrics = [...new Set(variants.map((m) => m.metric))];
      const { metrics: _m, ...record } = rec;
      device = Object.assign(state.devices.get(id) ?? {}, record);
      state.devices.set(id, device);
      addCustomMetrics(device);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      root.replaceChildren(head, err instanceof ApiError && err.status === 404 ? h('p', { class: 'error' }, t('notFound')) : errorBox(err));
      return;
    }
    if (!view.metric || !metrics.includes(view.metric)) {
      const preferred = metrics.find((m) => !['device', 'video'].includes(metricDef(m)?.category)) ?? metrics[0];
      if (preferred && !(view.metric && state.latest.get(id)?.has(view.metric))) view.metric = preferred;
    }
    renderHead();
    renderLatest();
    renderChartTools();
    recordBox.replaceChildren(...recordView(device));
    if (hasWaterQuality(metrics)) analyticsBox.replaceChildren(waterQualityPanel(id, ctrl.signal));
    renderCamera();
    void loadChart();
    void loadEvents();
    void loadAlarms();
    void loadHistory();
  })();

  return {
    onLive(batch) {
      if (!batch.devices.has(id)) return;
      device = state.devices.get(id) ?? device;
      renderHead();
      let newMetric = false;
      for (const r of batch.readings) {
        if (r.device !== id) continue;
        if (!metrics.includes(r.metric)) (metrics.push(r.metric), (newMetric = true));
        // Rollups (7 d, 30 d) are not extended with raw points: the next load shows the new bucket.
        if (chart && r.metric === view.metric && chartResolution === 'raw' && !r.aggregate) chart.addPoint({ ts: r.ts, value: r.value, quality: r.quality });
      }
      renderLatest();
      for (const metric of batch.readings.filter((r) => r.device === id).map((r) => r.metric)) latestGrid.querySelector(`[data-metric="${CSS.escape(metric)}"]`)?.classList.add('flash');
      if (newMetric) {
        renderChartTools();
        if (!view.metric) chooseMetric(metrics[0]);
      }
      if (batch.readings.some((r) => r.device === id && VIDEO_HEALTH.includes(r.metric))) renderStreamHealth(streamBox);
      if (batch.alarms.some((a) => a.device === id)) void loadAlarms();
      const evs = batch.events.filter((e) => e.device === id);
      if (evs.length) {
        eventsBody.querySelector('.placeholder')?.remove();
        for (const e of evs) eventsBody.prepend(eventRow(e));
      }
    },
    unmount() {
      ctrl.abort();
      if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
    },
  };
}
