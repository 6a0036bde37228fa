// Formatting of times and values for tables, cards and chart axes.
const pad = (n) => String(n).padStart(2, '0');

export function fmtTime(ms, { seconds = true, date = true } = {}) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
  return date ? `${day} ${time}` : time;
}

/** A number with precision that suits its size: 1234.5, 12.35, 0.123. */
export function fmtNumber(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v ?? '–');
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1 || a === 0) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(3)));
}

/** Units not worth printing next to a value. */
export const displayUnit = (unit) => (!unit || unit === 'bool' || unit === 'count' ? '' : unit);

/** Duration in ms as "15 s", "5 min", "3 h". */
export function fmtStep(ms) {
  if (!ms) return '';
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${ms / 60_000} min`;
  if (ms < 86_400_000) return `${ms / 3_600_000} h`;
  return `${ms / 86_400_000} d`;
}

/** Strips user:password@ from every URL in a text (stream and snapshot URLs carry camera credentials). */
export function redactUrl(u) {
  return String(u).replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, '$1***@');
}

/** Dates of Beijing-time periods (report days, daily classes, hydrological days) as YYYY-MM-DD, whatever the browser's zone. */
export const fmtChinaDate = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 10);
/** An alarm's duration: "1小时5分" / "1 h 5 min" (seconds below a minute). */
export function fmtDuration(ms, lang = 'zh') {
  const totalS = Math.max(0, Math.round((ms ?? 0) / 1000));
  if (totalS < 60) return lang === 'zh' ? `${totalS}秒` : `${totalS} s`;
  const totalMin = Math.floor(totalS / 60);
  const d = Math.floor(totalMin / 1440);
  const hr = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  const parts = lang === 'zh' ? [d && `${d}天`, hr && `${hr}小时`, m && `${m}分`] : [d && `${d} d`, hr && `${hr} h`, m && `${m} min`];
  return parts.filter(Boolean).join(lang === 'zh' ? '' : ' ');
}
