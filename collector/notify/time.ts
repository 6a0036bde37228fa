// Beijing time (UTC+8, no daylight saving) for message texts and quiet hours, whatever the server's TZ is.
const BEIJING_OFFSET_MS = 8 * 3600_000;

/** `2026-11-30 08:15:00` in Beijing time. */
export function fmtBeijing(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** Minutes since Beijing midnight (0..1439). */
export function beijingMinuteOfDay(ms: number): number {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return d.getUTCHours() * 60 + d.getUTCMinutes();
}

/** "1小时5分" / "1 h 5 min" (seconds only below a minute). */
export function fmtDuration(ms: number, lang: 'zh' | 'en'): string {
  const totalS = Math.max(0, Math.round(ms / 1000));
  if (totalS < 60) return lang === 'zh' ? `${totalS}秒` : `${totalS} s`;
  const totalMin = Math.floor(totalS / 60);
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  const parts = lang === 'zh'
    ? [d && `${d}天`, h && `${h}小时`, m && `${m}分`]
    : [d && `${d} d`, h && `${h} h`, m && `${m} min`];
  return parts.filter(Boolean).join(lang === 'zh' ? '' : ' ');
}
