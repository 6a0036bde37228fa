// The daily report as an Excel workbook (exceljs): a summary sheet and one sheet per table, Chinese headers,
// numbers as numbers (rates as percentages), frozen header rows and sensible column widths — what a bureau opens
// in Excel or WPS and files.
import ExcelJS from 'exceljs';
import { fmtChina } from '../../core/china-time.js';
import { RECORD_LABELS_ZH } from '../../core/records.js';
import { reportTables, type DailyReport } from './report.js';

const bureauName = (b: string | null) => (b ? ((RECORD_LABELS_ZH.bureau as Record<string, string>)[b] ?? b) : '全部');

export async function reportXlsx(r: DailyReport): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'yiwang';
  wb.created = new Date(r.generatedAt);

  const summary = wb.addWorksheet('概况');
  summary.columns = [{ width: 22 }, { width: 42 }];
  const s = r.summary;
  const lines: [string, string | number | null][] = [
    ['日报日期', r.date],
    ['单位', bureauName(r.bureau)],
    ['统计时段', `${fmtChina(r.day.start, 'minute')} – ${fmtChina(r.day.end, 'minute')}（北京时间）`],
    ['降雨统计时段（水文日）', `${fmtChina(r.hydroDay.start, 'minute')} – ${fmtChina(r.hydroDay.end, 'minute')}（北京时间）`],
    ['站点设备数', s.stations],
    ['在线', s.online],
    ['离线', s.offline],
    ['应到数', s.expected],
    ['实到数', s.received],
    ['到报率', s.rate],
    ['报警', s.alarmsRaised],
    ['报警解除', s.alarmsCleared],
    ['生成时间', fmtChina(r.generatedAt)],
  ];
  for (const [k, v] of lines) summary.addRow([k, v]);
  summary.getColumn(1).font = { bold: true };
  summary.getCell('B10').numFmt = '0.00%';

  for (const t of Object.values(reportTables(r))) {
    const ws = wb.addWorksheet(t.title, { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.addRow(t.header).font = { bold: true };
    for (const row of t.rows) ws.addRow(row.map((v) => (v === undefined ? null : v)));
    t.header.forEach((h, i) => {
      const col = ws.getColumn(i + 1);
      const longest = Math.max(h.length * 2, ...t.rows.map((row) => String(row[i] ?? '').length));
      col.width = Math.min(60, Math.max(8, longest + 2));
      if (t.percentColumns.includes(i)) col.numFmt = '0.00%';
    });
    ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: t.header.length } };
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
