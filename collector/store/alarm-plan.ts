// The alarm lifecycle as a pure decision, like plan.ts for ingest: given the alarm rows stored for a key
// (kind + device + subject) and a raise/clear signal, decide what changes. Both engines run this inside the
// transaction that committed the signal's event (ingest) or detected the condition (the collector's sweeper), so
// an alarm changes exactly once per signal and its history, feed item and notification jobs commit with it.
//
// Rules (collector/alarms/README.md):
// - At most one open alarm per key (the stored unique index alarms_open enforces it too).
// - Signals apply in event-time order per key, (ts, seq). A raise while open escalates (higher severity: back to
//   active even if acknowledged), de-escalates (lower) or repeats (same: an edge restarted mid-alarm) — never a
//   second alarm. A clear with severity 0 clears; a clear that leaves a level (severity > 0: the edge's alarm line
//   cleared but its warning line still crossed) de-escalates.
// - A late signal (older than the newest one already applied to the key, e.g. the edge's backlog arriving after
//   live data) never changes the current state: a late raise before every known episode becomes a past episode
//   (cleared, end unknown until its late clear arrives); anything else goes into the history, marked late.
import { EventKind, type SensingEvent } from '../../schema/types.js';
import type { AlarmKind } from '../notify/types.js';

export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** Transitions recorded in an alarm's history; the first four can be notified. */
export const ALARM_TRANSITIONS = ['raised', 'escalated', 'cleared', 'acknowledged', 'deescalated', 'updated'] as const;
export type AlarmTransition = (typeof ALARM_TRANSITIONS)[number];
const NOTIFIED: ReadonlySet<AlarmTransition> = new Set(['raised', 'escalated', 'cleared', 'acknowledged']);

/** A stored alarm (the `alarms` table). */
export interface AlarmRow {
  id: number;
  kind: AlarmKind;
  device_id: string; // '' for edge alarms
  subject: string; // metric, video check, quarantine reason, edge id; '' when the kind needs none
  edge_id: string | null;
  site_id: string | null;
  state: AlarmState;
  severity: number;
  peak_severity: number;
  code: string | null;
  metric: string | null;
  unit: string | null;
  direction: string | null;
  threshold: number | null;
  thresholds: string | null; // JSON {warning?, alarm?}: the lines seen in this alarm's events
  first_value: number | null;
  last_value: number | null;
  last_value_ts: number | null;
  peak_value: number | null;
  message: string | null;
  raised_at: number;
  updated_at: number;
  cleared_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
  ack_comment: string | null;
  last_event_ts: number;
  last_event_seq: number;
  source: 'edge' | 'collector';
}

/** A raise or clear for one alarm key, from an edge event or a condition the collector saw. */
export interface AlarmSignal {
  kind: AlarmKind;
  deviceId: string;
  subject: string;
  action: 'raise' | 'clear';
  /** raise: the alarm's severity (1..3); clear: the severity that remains (0: fully cleared). */
  severity: number;
  ts: number;
  /** Tie-break within one ts: the edge's seq (collector signals: 0). */
  order: number;
  edgeId: string | null;
  siteId: string | null;
  code?: string;
  metric?: string;
  unit?: string;
  value?: number;
  threshold?: number;
  message?: string;
  /** Who caused it: edge:<id> or collector. */
  actor: string;
  source: 'edge' | 'collector';
}

export interface HistoryWrite {
  /** The alarm the entry belongs to (its id is known once a new row is inserted). */
  alarm: AlarmRow;
  ts: number;
  at: number;
  transition: AlarmTransition;
  severity: number;
  value: number | null;
  code: string | null;
  actor: string | null;
  comment: string | null;
  late: boolean;
  /** Waiting for notification fan-out. */
  notify: boolean;
}

export const keyOf = (kind: string, deviceId: string, subject: string) => `${kind}\u0000${deviceId}\u0000${subject}`;

const LEVEL_BY_SEVERITY = ['', 'warning', 'alarm', 'alarm'] as const;

/** The signal an edge or collector event means for the alarms, if any. */
export function signalFromEvent(
  e: Omit<SensingEvent, 'seq'>,
  ctx: { edgeId: string | null; seq: number | null; siteId: string | null },
): AlarmSignal | undefined {
  const base = {
    deviceId: e.deviceId,
    ts: e.ts,
    order: ctx.seq ?? 0,
    edgeId: ctx.edgeId,
    siteId: ctx.siteId,
    code: e.code || undefined,
    metric: e.metric || undefined,
    value: e.value ?? undefined,
    threshold: e.threshold ?? undefined,
    message: e.message || undefined,
    actor: ctx.edgeId && ctx.seq !== null ? `edge:${ctx.edgeId}` : 'collector',
    source: ctx.seq !== null ? ('edge' as const) : ('collector' as const),
  };
  const sev = Math.max(0, Math.min(3, e.severity ?? 0));
  switch (e.kind) {
    case EventKind.ALARM_RAISED:
    case EventKind.ALARM_CLEARED: {
      const subject = e.metric || e.code?.split('.')[0] || '';
      if (!subject) return undefined;
      const raise = e.kind === EventKind.ALARM_RAISED;
      return { ...base, kind: 'threshold', subject, metric: subject, action: raise ? 'raise' : 'clear', severity: raise ? Math.max(1, sev) : sev };
    }
    case EventKind.VIDEO_FAULT_RAISED:
    case EventKind.VIDEO_FAULT_CLEARED: {
      const raise = e.kind === EventKind.VIDEO_FAULT_RAISED;
      return { ...base, kind: 'video_fault', subject: e.code || '', metric: undefined, action: raise ? 'raise' : 'clear', severity: raise ? Math.max(1, sev) : 0 };
    }
    case EventKind.DEVICE_OFFLINE:
      return { ...base, kind: 'device_offline', subject: '', metric: undefined, threshold: undefined, action: 'raise', severity: Math.max(1, sev) };
    case EventKind.DEVICE_ONLINE:
      return { ...base, kind: 'device_offline', subject: '', metric: undefined, threshold: undefined, action: 'clear', severity: 0 };
    case EventKind.DATA_GAP:
      // Bureau analytics' missed-report runs (collector/analytics/missed.ts: `missed_reports`, then
      // `missed_reports.resumed`); other data gaps (a Sparkplug sequence gap) are one-off events, not conditions.
      if (e.code === 'missed_reports') return { ...base, kind: 'data_gap', subject: '', metric: undefined, action: 'raise', severity: Math.max(1, sev) };
      if (e.code === 'missed_reports.resumed') return { ...base, kind: 'data_gap', subject: '', metric: undefined, action: 'clear', severity: 0 };
      return undefined;
    case EventKind.DATA_QUARANTINED:
      return { ...base, kind: 'quarantine', subject: e.code?.replace(/^quarantine\./, '') ?? '', metric: undefined, action: 'raise', severity: Math.max(1, sev) };
    default:
      return undefined;
  }
}

const after = (ts: number, order: number, rowTs: number, rowOrder: number) => ts > rowTs || (ts === rowTs && order >= rowOrder);

function parseThresholds(r: AlarmRow): { warning?: number; alarm?: number } {
  try {
    return r.thresholds ? (JSON.parse(r.thresholds) as { warning?: number; alarm?: number }) : {};
  } catch {
    return {};
  }
}

/** Threshold level of a code (`water_level.alarm` → alarm), else from the severity. */
function levelOf(code: string | undefined, severity: number): 'warning' | 'alarm' | undefined {
  const suffix = code?.split('.').pop();
  if (suffix === 'warning' || suffix === 'alarm') return suffix;
  return LEVEL_BY_SEVERITY[severity] || undefined;
}

/**
 * Applies signals to the alarm rows of their keys. Construct with what the store holds for the keys (every row of
 * a key that may matter: the open one and the recent cleared ones, newest first), feed signals in any order
 * (they are sorted per key by apply order), then write `inserted`, `updated` and `history`.
 */
export class AlarmPlanner {
  readonly inserted: AlarmRow[] = [];
  readonly updated = new Set<AlarmRow>();
  readonly history: HistoryWrite[] = [];
  private nextTempId = -1;

  constructor(
    private readonly rowsByKey: Map<string, AlarmRow[]>,
    private readonly now: number,
  ) {}

  /** Every row touched (new or changed), for feed items. */
  touched(): AlarmRow[] {
    return [...new Set([...this.inserted, ...this.updated])];
  }

  /** Applies signals in (ts, order) order. */
  applyAll(signals: AlarmSignal[]): void {
    for (const s of [...signals].sort((a, b) => a.ts - b.ts || a.order - b.order)) this.apply(s);
  }

  apply(s: AlarmSignal): void {
    const key = keyOf(s.kind, s.deviceId, s.subject);
    let rows = this.rowsByKey.get(key);
    if (!rows) this.rowsByKey.set(key, (rows = []));
    const newest = rows.reduce<AlarmRow | undefined>((m, r) => (!m || !after(m.last_event_ts, m.last_event_seq, r.last_event_ts, r.last_event_seq) ? r : m), undefined);
    if (newest && !after(s.ts, s.order, newest.last_event_ts, newest.last_event_seq)) return this.late(rows, s);
    const open = rows.find((r) => r.state !== 'cleared');
    if (s.action === 'raise') {
      if (!open) {
        this.raise(rows, s);
        return;
      }
      this.touch(open, s);
      this.learnThreshold(open, s);
      if (s.severity > open.severity) {
        open.severity = s.severity;
        open.peak_severity = Math.max(open.peak_severity, s.severity);
        open.code = s.code ?? open.code;
        if (s.threshold !== undefined) open.threshold = s.threshold;
        if (open.state === 'acknowledged') open.state = 'active'; // worse than what was acknowledged: tell people again
        this.note(open, s, 'escalated');
      } else if (s.severity < open.severity) {
        open.severity = s.severity;
        open.code = s.code ?? open.code;
        if (s.threshold !== undefined) open.threshold = s.threshold;
        this.note(open, s, 'deescalated');
      } else if (s.code && s.code !== open.code) {
        open.code = s.code;
        this.note(open, s, 'updated');
      }
      if (s.message) open.message = s.message;
      return;
    }
    // clear
    if (!open) {
      // Nothing open: a repeated clear (an edge restarted after clearing), or the end of a past episode.
      const past = this.pastWithoutEnd(rows, s.ts);
      if (past && s.severity === 0) this.closePast(past, s, false);
      return;
    }
    this.touch(open, s);
    if (s.severity > 0) {
      if (s.severity >= open.severity) return;
      open.severity = s.severity;
      const level = levelOf(undefined, s.severity);
      if (open.kind === 'threshold' && open.metric && level) {
        open.code = `${open.metric}.${level}`;
        open.threshold = parseThresholds(open)[level] ?? null;
      }
      this.note(open, s, 'deescalated');
      return;
    }
    open.state = 'cleared';
    open.cleared_at = s.ts;
    if (s.message) open.message = s.message;
    this.note(open, s, 'cleared');
  }

  /** Records an acknowledgement (the API's ack, inside its transaction). */
  acknowledge(row: AlarmRow, by: string, comment: string | null, at: number): void {
    row.acked_at = at;
    row.acked_by = by;
    row.ack_comment = comment;
    if (row.state === 'active') row.state = 'acknowledged';
    row.updated_at = at;
    this.updated.add(row);
    this.history.push({ alarm: row, ts: at, at: this.now, transition: 'acknowledged', severity: row.severity, value: null, code: row.code, actor: by, comment, late: false, notify: true });
  }

  private raise(rows: AlarmRow[], s: AlarmSignal, late = false): AlarmRow {
    const row: AlarmRow = {
      id: this.nextTempId--,
      kind: s.kind,
      device_id: s.deviceId,
      subject: s.subject,
      edge_id: s.edgeId,
      site_id: s.siteId,
      state: late ? 'cleared' : 'active',
      severity: s.severity,
      peak_severity: s.severity,
      code: s.code ?? null,
      metric: s.metric ?? null,
      unit: s.unit ?? null,
      direction: s.value !== undefined && s.threshold !== undefined && s.kind === 'threshold' ? (s.value >= s.threshold ? 'above' : 'below') : null,
      threshold: s.threshold ?? null,
      thresholds: null,
      first_value: s.value ?? null,
      last_value: s.value ?? null,
      last_value_ts: s.value !== undefined ? s.ts : null,
      peak_value: s.value ?? null,
      message: s.message ?? null,
      raised_at: s.ts,
      updated_at: this.now,
      cleared_at: null,
      acked_at: null,
      acked_by: null,
      ack_comment: null,
      last_event_ts: s.ts,
      last_event_seq: s.order,
      source: s.source,
    };
    this.learnThreshold(row, s);
    rows.unshift(row);
    this.inserted.push(row);
    this.note(row, s, 'raised', late);
    return row;
  }

  private late(rows: AlarmRow[], s: AlarmSignal): void {
    const containing = rows.find((r) => r.raised_at <= s.ts && (r.cleared_at === null || r.cleared_at >= s.ts));
    if (s.action === 'raise') {
      if (!containing) {
        // Before every episode we know of: a past alarm, over before the next one began (its clear may follow).
        const earliest = rows.reduce((m, r) => Math.min(m, r.raised_at), Number.POSITIVE_INFINITY);
        if (s.ts < earliest) this.raise(rows, s, true);
        return;
      }
      this.updatePeak(containing, s.value, s.ts, false);
      if (s.severity > containing.peak_severity) containing.peak_severity = s.severity;
      this.updated.add(containing);
      this.note(containing, s, s.severity > containing.severity ? 'escalated' : 'updated', true);
      return;
    }
    const past = s.severity === 0 ? this.pastWithoutEnd(rows, s.ts) : undefined;
    if (past) return this.closePast(past, s, true);
    if (containing) this.note(containing, s, s.severity === 0 ? 'cleared' : 'deescalated', true);
  }

  /** The latest past episode (closed by inference) whose end is not known yet and that began before `ts`. */
  private pastWithoutEnd(rows: AlarmRow[], ts: number): AlarmRow | undefined {
    return rows.filter((r) => r.state === 'cleared' && r.cleared_at === null && r.raised_at <= ts).sort((a, b) => b.raised_at - a.raised_at)[0];
  }

  private closePast(row: AlarmRow, s: AlarmSignal, late: boolean): void {
    row.cleared_at = s.ts;
    row.updated_at = this.now;
    this.updated.add(row);
    this.note(row, s, 'cleared', late);
  }

  private learnThreshold(row: AlarmRow, s: AlarmSignal): void {
    if (row.kind !== 'threshold' || s.threshold === undefined) return;
    const level = levelOf(s.code, s.severity);
    if (!level) return;
    const th = parseThresholds(row);
    if (th[level] === s.threshold) return;
    th[level] = s.threshold;
    row.thresholds = JSON.stringify(th);
  }

  private touch(row: AlarmRow, s: AlarmSignal): void {
    row.last_event_ts = s.ts;
    row.last_event_seq = s.order;
    row.updated_at = this.now;
    if (s.siteId) row.site_id = s.siteId;
    this.updatePeak(row, s.value, s.ts, true);
    this.updated.add(row);
  }

  private updatePeak(row: AlarmRow, value: number | undefined, ts: number, latest: boolean): void {
    if (value === undefined || !Number.isFinite(value)) return;
    if (latest && (row.last_value_ts === null || ts >= row.last_value_ts)) {
      row.last_value = value;
      row.last_value_ts = ts;
    }
    row.peak_value = peakOf(row.direction, row.peak_value, value);
  }

  private note(row: AlarmRow, s: AlarmSignal, transition: AlarmTransition, late = false): void {
    this.history.push({
      alarm: row,
      ts: s.ts,
      at: this.now,
      transition,
      severity: row.severity,
      value: s.value ?? null,
      code: s.code ?? null,
      actor: s.actor,
      comment: null,
      late,
      notify: !late && NOTIFIED.has(transition),
    });
  }
}

/** The worse of a peak and a new value: the highest for alarms above a line, the lowest below. */
export function peakOf(direction: string | null, peak: number | null, value: number): number {
  if (peak === null) return value;
  return direction === 'below' ? Math.min(peak, value) : Math.max(peak, value);
}
