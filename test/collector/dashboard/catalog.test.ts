import { describe, expect, it } from 'vitest';
import { buildCatalog, RECORD_FIELD_LABELS } from '../../../collector/dashboard/catalog.js';
import { RECORD_COLUMNS } from '../../../core/records.js';

describe('catalog labels', () => {
  it('labels record fields with the CSV export’s 一机一档 column names', () => {
    const headers = new Set(RECORD_COLUMNS.map((c) => c.zh));
    // Every field the CSV exports has the same Chinese name on the page; the rest are page-only extras.
    const pageOnly = ['帧率', '码率 (kbit/s)', '硬件编号', '时钟偏差 (ms)', '接入网关', '数据上报计划'];
    for (const [path, l] of Object.entries(RECORD_FIELD_LABELS)) {
      if (!pageOnly.includes(l.zh)) expect(headers.has(l.zh), `${path}: ${l.zh}`).toBe(true);
    }
    expect(RECORD_FIELD_LABELS['camera.streamUris']).toEqual({ zh: '视频流地址', en: 'Stream URLs' });
  });

  it('carries the video check and health reason labels to the page', () => {
    const c = buildCatalog();
    expect(c.labels.checks.zh.blur).toBe('图像模糊');
    expect(c.labels.checks.en.too_dark).toBe('too dark');
    expect(c.labels.reasons.zh.timeout).toBe('通信超时');
    expect(c.labels.fields['location.longitude']!.zh).toBe('经度');
  });
});
