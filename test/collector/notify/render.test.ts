import { describe, expect, it } from 'vitest';
import { asHtml, asMarkdown, asText, render } from '../../../collector/notify/render.js';
import { fmtBeijing, fmtDuration, beijingMinuteOfDay } from '../../../collector/notify/time.js';
import type { Notification } from '../../../collector/notify/types.js';
import { AT, raised } from './fixtures.js';

describe('Beijing time', () => {
  it('formats UTC instants as Beijing wall time whatever the process TZ is', () => {
    expect(fmtBeijing(AT)).toBe('2026-11-30 08:15:00');
    expect(fmtBeijing(Date.UTC(2026, 10, 30, 16, 0, 0))).toBe('2026-12-01 00:00:00'); // crosses the date line in Beijing
    expect(beijingMinuteOfDay(AT)).toBe(8 * 60 + 15);
  });

  it('says durations in words', () => {
    expect(fmtDuration(65 * 60_000, 'zh')).toBe('1小时5分');
    expect(fmtDuration(65 * 60_000, 'en')).toBe('1 h 5 min');
    expect(fmtDuration(26 * 3600_000, 'zh')).toBe('1天2小时');
    expect(fmtDuration(42_000, 'zh')).toBe('42秒');
  });
});

describe('message rendering', () => {
  it('writes a raised threshold alarm in Chinese: site, device, metric name, value with unit, threshold, Beijing time, link', () => {
    const text = asText(render(raised, { dashboardUrl: 'https://yiwang.example/dashboard/' }));
    expect(text.split('\n')).toEqual([
      '【告警·重要】东村 村口河道水位计 水位超过报警线',
      '站点：东村',
      '设备：村口河道水位计（wl-01）',
      '监测值：水位 4.36 m',
      '阈值：报警线 4.2 m',
      '级别：重要',
      '时间：2026-11-30 08:15:00（北京时间）',
      '查看：https://yiwang.example/dashboard/#/device/wl-01',
    ]);
  });

  it('writes English when asked, and keeps the edge message as detail', () => {
    const text = asText(render(raised, { lang: 'en' }), 'en');
    expect(text).toContain('[Alarm · major] 东村 村口河道水位计: Water level above alarm level');
    expect(text).toContain('Value: Water level 4.36 m');
    expect(text).toContain('Threshold: alarm level 4.2 m');
    expect(text).toContain('Time: 2026-11-30 08:15:00 (Beijing time)');
    expect(text).toContain('Detail: Water level 4.356 m above alarm level 4.2');
  });

  it('says how long a cleared alarm lasted and who acknowledged one', () => {
    const cleared: Notification = { ...raised, transition: 'cleared', at: AT + 65 * 60_000, alarm: { ...raised.alarm, value: 3.1, peak: 4.61, clearedAt: AT + 65 * 60_000 } };
    const text = asText(render(cleared));
    expect(text).toContain('【告警恢复·重要】');
    expect(text).toContain('峰值：4.61 m');
    expect(text).toContain('恢复时间：2026-11-30 09:20:00（北京时间）');
    expect(text).toContain('持续时长：1小时5分');
    const acked: Notification = { ...raised, transition: 'acknowledged', at: AT + 60_000, alarm: { ...raised.alarm, acknowledgedBy: '张工', acknowledgedAt: AT + 60_000, ackComment: '已派人查看' } };
    const ackText = asText(render(acked));
    expect(ackText).toContain('确认人：张工 2026-11-30 08:16:00');
    expect(ackText).toContain('确认说明：已派人查看');
  });

  it('names video faults, offline reasons and escalations with the bureau wording', () => {
    const video = render({ ...raised, alarm: { ...raised.alarm, kind: 'video_fault', code: 'blur', metric: undefined, value: 0.42, severity: 'warning' } });
    expect(video.title).toBe('【告警·预警】东村 村口河道水位计 视频故障：图像模糊');
    const dark = render({ ...raised, alarm: { ...raised.alarm, kind: 'video_fault', code: 'too_dark' } }, { lang: 'en' });
    expect(dark.title).toContain('Video fault: too dark');
    const offline = render({ ...raised, alarm: { ...raised.alarm, kind: 'device_offline', code: 'timeout' } });
    expect(offline.title).toContain('设备离线（通信超时）');
    const esc = asText(render({ ...raised, transition: 'escalated', previousSeverity: 'warning' }));
    expect(esc).toContain('级别：重要（原级别预警）');
    const smoke = render({ ...raised, alarm: { ...raised.alarm, metric: 'smoke_alarm', value: true, code: 'smoke_alarm.alarm', severity: 'critical' } });
    expect(smoke.title).toBe('【告警·紧急】东村 村口河道水位计 烟感报警');
    expect(asText(smoke)).toContain('监测值：烟感报警 报警');
  });

  it('puts a storm into one digest, worst first, counting what it leaves out', () => {
    const items: Notification[] = Array.from({ length: 25 }, (_, i) => ({
      ...raised,
      at: AT + i * 1000,
      alarm: { ...raised.alarm, id: `a${i}`, device: { id: `d${i}`, name: `设备${i}` }, severity: i === 7 ? 'critical' : 'warning' },
    }));
    const r = render({ type: 'digest', at: AT + 30_000, items, total: 31 }, { maxDigestItems: 10 });
    expect(r.title).toBe('【告警汇总】31 条告警变化（2026-11-30 08:15:30）');
    expect(r.lines).toHaveLength(11);
    expect(r.lines[0]![1]).toMatch(/^紧急 · 东村 设备7 水位超过报警线 4.36 m · 08:15:07 告警$/);
    expect(r.lines[10]).toEqual(['…', '另有 21 条未列出']);
  });

  it('escapes Markdown and HTML so device names cannot inject formatting or markup', () => {
    const evil: Notification = { ...raised, alarm: { ...raised.alarm, device: { id: 'x', name: '<b>*泵*</b>' } } };
    expect(asMarkdown(render(evil))).toContain('\\<b\\>\\*泵\\*\\</b\\>');
    expect(asHtml(render(evil))).toContain('&lt;b&gt;*泵*&lt;/b&gt;');
    expect(asHtml(render(evil))).not.toContain('<b>*');
  });
});
