// Message texts: Chinese by default, English when the rule says `language: en`. One structure (title, labelled
// lines, a link) rendered as plain text (WeCom/DingTalk text, SMS, e-mail text part), Markdown (the robots'
// markdown format) and HTML (e-mail). Metric names and units come from the catalog (schema/metrics.ts), times are
// Beijing time.
import { codeLabel, HEALTH_REASON_LABELS, SEVERITY_LABELS, VIDEO_CHECK_LABELS, type Lang } from '../../core/event-labels.js';
import { findMetric } from '../../schema/metrics.js';
import { fmtBeijing, fmtDuration } from './time.js';
import type { AlarmSummary, Digest, Message, Notification } from './types.js';

export interface Rendered {
  title: string;
  /** [label, value] lines in display order. */
  lines: [string, string][];
  link?: string;
}

export interface RenderOptions {
  lang?: Lang;
  /** Dashboard base URL (…/dashboard/); a device link is made from it when the message has none. */
  dashboardUrl?: string;
  /** Digest: items listed at most (the rest are counted). Default 20. */
  maxDigestItems?: number;
}

const WORDS = {
  zh: {
    raised: '告警', escalated: '告警升级', cleared: '告警恢复', acknowledged: '告警已确认', digest: '告警汇总',
    site: '站点', device: '设备', metric: '监测值', threshold: '阈值', severity: '级别', time: '时间', raisedAt: '发生时间',
    clearedAt: '恢复时间', duration: '持续时长', peak: '峰值', ackBy: '确认人', ackComment: '确认说明', detail: '详情',
    link: '查看', reason: '原因', score: '评分', edge: '边缘网关', was: '原级别', beijing: '（北京时间）',
    above: '超过', below: '低于', warningLine: '预警线', alarmLine: '报警线', offline: '设备离线', edgeOffline: '边缘网关离线',
    videoFault: '视频故障', dataGap: '数据中断', quarantine: '数据被隔离', alarmOn: '报警', alarmOff: '正常',
    more: (n: number) => `另有 ${n} 条未列出`, count: (n: number) => `${n} 条告警变化`, sep: '：', listSep: '，',
  },
  en: {
    raised: 'Alarm', escalated: 'Alarm escalated', cleared: 'Alarm cleared', acknowledged: 'Alarm acknowledged', digest: 'Alarm digest',
    site: 'Site', device: 'Device', metric: 'Value', threshold: 'Threshold', severity: 'Severity', time: 'Time', raisedAt: 'Raised',
    clearedAt: 'Cleared', duration: 'Duration', peak: 'Peak', ackBy: 'Acknowledged by', ackComment: 'Comment', detail: 'Detail',
    link: 'Open', reason: 'Reason', score: 'Score', edge: 'Edge', was: 'Was', beijing: ' (Beijing time)',
    above: 'above', below: 'below', warningLine: 'warning level', alarmLine: 'alarm level', offline: 'Device offline', edgeOffline: 'Edge offline',
    videoFault: 'Video fault', dataGap: 'Data gap', quarantine: 'Data quarantined', alarmOn: 'alarm', alarmOff: 'normal',
    more: (n: number) => `${n} more not listed`, count: (n: number) => `${n} alarm changes`, sep: ': ', listSep: ', ',
  },
} as const;

/** 1234.5 → "1235", 4.356 → "4.36", 0.01234 → "0.0123" (the dashboard's precision rules). */
export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1 || a === 0) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(3)));
}

const displayUnit = (unit: string | undefined) => (!unit || unit === 'bool' || unit === 'count' ? '' : unit);

/** A metric's value with its unit ("4.35 m"); booleans as 报警/正常. */
export function fmtMetricValue(metric: string | undefined, value: number | boolean | undefined, lang: Lang): string {
  if (value === undefined) return '';
  const def = metric ? findMetric(metric) : undefined;
  if (typeof value === 'boolean' || def?.type === 'boolean') return value === true || value === 1 ? WORDS[lang].alarmOn : WORDS[lang].alarmOff;
  const unit = displayUnit(def?.unit);
  return unit ? `${fmtNumber(value)} ${unit}` : fmtNumber(value);
}

export const metricLabel = (metric: string | undefined, lang: Lang): string => (metric ? (findMetric(metric)?.[lang] ?? metric) : '');

function levelOf(a: AlarmSummary): 'warning' | 'alarm' | undefined {
  if (a.level) return a.level;
  const suffix = a.code?.split('.').pop();
  return suffix === 'warning' || suffix === 'alarm' ? suffix : undefined;
}

/** What the alarm is, in a few words: 水位超过报警线 / Video fault: blur / Device offline (timeout). */
export function alarmHeadline(a: AlarmSummary, lang: Lang): string {
  const w = WORDS[lang];
  switch (a.kind) {
    case 'threshold': {
      const name = metricLabel(a.metric, lang);
      const def = a.metric ? findMetric(a.metric) : undefined;
      if (def?.type === 'boolean' || typeof a.value === 'boolean') return lang === 'zh' ? name : `${name} alarm`;
      const level = levelOf(a);
      const line = level === 'alarm' ? w.alarmLine : level === 'warning' ? w.warningLine : w.threshold;
      const side = a.direction === 'below' ? w.below : w.above;
      return lang === 'zh' ? `${name}${side}${line}` : `${name} ${side} ${line}`;
    }
    case 'device_offline': {
      const reason = codeLabel(HEALTH_REASON_LABELS, lang, a.code);
      return reason && reason !== a.code ? `${w.offline}${lang === 'zh' ? `（${reason}）` : ` (${reason})`}` : w.offline;
    }
    case 'video_fault': {
      const check = codeLabel(VIDEO_CHECK_LABELS, lang, a.code);
      return check ? `${w.videoFault}${w.sep}${check}` : w.videoFault;
    }
    case 'edge_offline':
      return w.edgeOffline;
    case 'data_gap':
      return w.dataGap;
    case 'quarantine':
      return w.quarantine;
    default:
      return a.message ?? String(a.kind);
  }
}

const deviceText = (a: AlarmSummary) => (a.device.name && a.device.name !== a.device.id ? `${a.device.name}（${a.device.id}）` : a.device.id);
const deviceTextEn = (a: AlarmSummary) => (a.device.name && a.device.name !== a.device.id ? `${a.device.name} (${a.device.id})` : a.device.id);

function linkFor(m: Message, opts: RenderOptions): string | undefined {
  if (m.link) return m.link;
  if (!opts.dashboardUrl) return undefined;
  const base = opts.dashboardUrl.endsWith('/') ? opts.dashboardUrl : `${opts.dashboardUrl}/`;
  return m.type === 'alarm' ? `${base}#/device/${encodeURIComponent(m.alarm.device.id)}` : `${base}#/events`;
}

function renderAlarm(n: Notification, opts: RenderOptions): Rendered {
  const lang = opts.lang ?? 'zh';
  const w = WORDS[lang];
  const a = n.alarm;
  const sev = codeLabel(SEVERITY_LABELS, lang, a.severity);
  const where = [a.site?.name || a.site?.id, a.device.name || a.device.id].filter(Boolean).join(' ');
  const title = lang === 'zh'
    ? `【${w[n.transition]}·${sev}】${where} ${alarmHeadline(a, lang)}`
    : `[${w[n.transition]} · ${sev}] ${where}: ${alarmHeadline(a, lang)}`;
  const lines: [string, string][] = [];
  if (a.site) lines.push([w.site, a.site.name || a.site.id]);
  lines.push([w.device, lang === 'zh' ? deviceText(a) : deviceTextEn(a)]);
  if (a.kind === 'edge_offline' && a.edgeId) lines.push([w.edge, a.edgeId]);
  if (a.kind === 'threshold' && a.value !== undefined) {
    lines.push([w.metric, `${metricLabel(a.metric, lang)} ${fmtMetricValue(a.metric, a.value, lang)}`]);
    if (a.threshold !== undefined) {
      const level = levelOf(a);
      const name = level === 'alarm' ? w.alarmLine : level === 'warning' ? w.warningLine : w.threshold;
      lines.push([w.threshold, `${name} ${fmtMetricValue(a.metric, a.threshold, lang)}`]);
    }
    if (a.peak !== undefined && a.peak !== a.value) lines.push([w.peak, fmtMetricValue(a.metric, a.peak, lang)]);
  } else if (a.kind === 'video_fault' && typeof a.value === 'number') {
    lines.push([w.score, fmtNumber(a.value)]);
  }
  const was = n.transition === 'escalated' && n.previousSeverity ? codeLabel(SEVERITY_LABELS, lang, n.previousSeverity) : '';
  lines.push([w.severity, !was ? sev : lang === 'zh' ? `${sev}（${w.was}${was}）` : `${sev} (${w.was} ${was})`]);
  if (n.transition === 'raised' || n.transition === 'escalated') {
    lines.push([w.time, fmtBeijing(n.at) + w.beijing]);
  } else {
    lines.push([w.raisedAt, fmtBeijing(a.raisedAt) + w.beijing]);
    if (n.transition === 'cleared') {
      const clearedAt = a.clearedAt ?? n.at;
      lines.push([w.clearedAt, fmtBeijing(clearedAt) + w.beijing], [w.duration, fmtDuration(clearedAt - a.raisedAt, lang)]);
    } else {
      lines.push([w.ackBy, `${a.acknowledgedBy ?? ''} ${fmtBeijing(a.acknowledgedAt ?? n.at)}`.trim()]);
      if (a.ackComment) lines.push([w.ackComment, a.ackComment]);
    }
  }
  // The edge's English message adds nothing to a Chinese text that already says the same from the codes.
  if (a.message && (lang === 'en' || !/^[\x20-\x7e]*$/.test(a.message))) lines.push([w.detail, a.message]);
  return { title, lines, link: linkFor(n, opts) };
}

/** One line of a digest: "紧急 · 东村 东村水位计 水位超过报警线 4.35 m · 08:14:02 告警". */
function digestLine(n: Notification, lang: Lang): string {
  const w = WORDS[lang];
  const a = n.alarm;
  const value = a.kind === 'threshold' && a.value !== undefined ? ` ${fmtMetricValue(a.metric, a.value, lang)}` : '';
  const where = [a.site?.name || a.site?.id, a.device.name || a.device.id].filter(Boolean).join(' ');
  return `${codeLabel(SEVERITY_LABELS, lang, a.severity)} · ${where} ${alarmHeadline(a, lang)}${value} · ${fmtBeijing(n.at).slice(11)} ${w[n.transition]}`;
}

const SEVERITY_RANK = { info: 0, warning: 1, major: 2, critical: 3 } as const;

function renderDigest(d: Digest, opts: RenderOptions): Rendered {
  const lang = opts.lang ?? 'zh';
  const w = WORDS[lang];
  const max = opts.maxDigestItems ?? 20;
  const total = Math.max(d.total ?? 0, d.items.length);
  // Worst first, then newest first: the top of a long digest is what matters.
  const sorted = [...d.items].sort((x, y) => SEVERITY_RANK[y.alarm.severity] - SEVERITY_RANK[x.alarm.severity] || y.at - x.at);
  const shown = sorted.slice(0, max);
  const lines: [string, string][] = shown.map((n, i) => [String(i + 1), digestLine(n, lang)]);
  if (total > shown.length) lines.push(['…', w.more(total - shown.length)]);
  const title = lang === 'zh' ? `【${w.digest}】${w.count(total)}（${fmtBeijing(d.at)}）` : `[${w.digest}] ${w.count(total)} (${fmtBeijing(d.at)})`;
  return { title, lines, link: linkFor(d, opts) };
}

export function render(m: Message, opts: RenderOptions = {}): Rendered {
  return m.type === 'digest' ? renderDigest(m, opts) : renderAlarm(m, opts);
}

const lineText = (lang: Lang, [k, v]: [string, string]) => (/^\d+$|^…$/.test(k) ? `${k === '…' ? '' : `${k}. `}${v}` : `${k}${WORDS[lang].sep}${v}`);

/** Plain text: the title, one "标签：值" line each, then the link. */
export function asText(r: Rendered, lang: Lang = 'zh'): string {
  return [r.title, ...r.lines.map((l) => lineText(lang, l)), ...(r.link ? [`${WORDS[lang].link}${WORDS[lang].sep}${r.link}`] : [])].join('\n');
}

/** Markdown for the robots: a heading, one line each (DingTalk needs a blank line between lines, WeCom does not mind). */
export function asMarkdown(r: Rendered, lang: Lang = 'zh'): string {
  const esc = (s: string) => s.replace(/([\\`*_[\]<>#])/g, '\\$1');
  const body = r.lines.map(([k, v]) => (/^\d+$|^…$/.test(k) ? `${k === '…' ? '' : `${k}. `}${esc(v)}` : `**${esc(k)}**${WORDS[lang].sep}${esc(v)}`));
  if (r.link) body.push(`[${WORDS[lang].link}](${r.link})`);
  return [`### ${esc(r.title)}`, ...body].join('\n\n');
}

const escHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A small HTML table for e-mail. */
export function asHtml(r: Rendered, lang: Lang = 'zh'): string {
  const rows = r.lines.map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0;color:#555">${escHtml(k)}</th><td>${escHtml(v)}</td></tr>`).join('');
  const link = r.link ? `<p><a href="${escHtml(r.link)}">${escHtml(WORDS[lang].link)}</a></p>` : '';
  return `<!doctype html><html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><title>${escHtml(r.title)}</title></head><body><h3>${escHtml(r.title)}</h3><table>${rows}</table>${link}</body></html>`;
}
