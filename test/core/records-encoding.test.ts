// What Excel on Chinese Windows saves: GB18030 ("CSV (逗号分隔)") and UTF-8 with a BOM ("CSV UTF-8").
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { bureauCode, decodeCsvBytes, parseSharingScope, recordsFromCsv, recordsToCsvBytes } from '../../core/records.js';

const CSV = '设备编码,设备名称,共享范围,安装地址\r\nWL-1,前池水位,水务/生态环境,合肥市蜀山区井岗路1号\r\n';

describe('一机一档 CSV encodings', () => {
  it('reads GB18030, UTF-8 with BOM and plain UTF-8, and says which', () => {
    for (const [bytes, encoding] of [
      [iconv.encode(CSV, 'gb18030'), 'GB18030'],
      [iconv.encode(CSV, 'gbk'), 'GB18030'],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CSV)]), 'UTF-8 with BOM'],
      [Buffer.from(CSV), 'UTF-8'],
    ] as const) {
      const r = recordsFromCsv(bytes);
      expect(r.encoding).toBe(encoding);
      expect(r.errors).toEqual([]);
      expect(r.records).toEqual([{ id: 'WL-1', name: '前池水位', sharingScope: ['water', 'environment'], location: { address: '合肥市蜀山区井岗路1号' } }]);
    }
  });

  it('says the encoding may be the problem when the header cannot be read', () => {
    const big5 = iconv.encode(CSV, 'big5'); // neither UTF-8 nor GB18030: the header comes out garbled
    const r = recordsFromCsv(big5);
    expect(r.records).toEqual([]);
    expect(r.errors[0]!.message).toMatch(/header has no 设备编码 .*read as GB18030; if it was saved in another encoding that may be the problem/);
  });

  it('exports UTF-8 with a BOM by default, or GB18030', async () => {
    const recs = [{ id: 'WL-1', name: '前池水位', sharingScope: ['water'] }];
    const utf8 = await recordsToCsvBytes(recs);
    expect([...utf8.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const gb = await recordsToCsvBytes(recs, 'gb18030');
    expect(decodeCsvBytes(gb).encoding).toBe('GB18030');
    expect(recordsFromCsv(gb).records[0]).toMatchObject({ id: 'WL-1', name: '前池水位', sharingScope: ['water'] });
  });

  it('knows the bureaus by their Chinese names', () => {
    expect(['水务', '水务局', '生态环境', '环保', '公安', '城管', '交通', 'fire'].map(bureauCode)).toEqual(['water', 'water', 'environment', 'environment', 'public_security', 'urban_management', 'transport', 'fire']);
    expect(parseSharingScope('水务，应急、education 教育')).toEqual({ codes: ['water', 'emergency', 'education'], custom: ['education'], unknown: ['教育'] });
  });
});
