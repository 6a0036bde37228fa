// The pure decisions: the alarm lifecycle per key (alarm-plan.ts) and the delivery worker's choice of messages
// (delivery-plan.ts): singles, digests, the digest window, a robot's minute budget, retries going out as before,
// and which channels a transition goes to.
import { describe, expect, it } from 'vitest';
import { EventKind, Severity } from '../../../schema/types.js';
import { AlarmPlanner, keyOf, signalFromEvent, type AlarmRow, type AlarmSignal } from '../../../collector/store/alarm-plan.js';
import { decideMessages, notificationOf, planJobs } from '../../../collector/alarms/delivery-plan.js';
import type { Alarm, DueDelivery, PendingTransition } from '../../../collector/store/index.js';
import type { ChannelConfig, Notification } from '../../../collector/notify/index.js';

const sig = (o: Partial<AlarmSignal> & Pick<AlarmSignal, 'action' | 'ts'>): AlarmSignal => ({
  kind: 'threshold', deviceId: 'd', subject: 'water_level', severity: o.action === 'raise' ? 1 : 0, order: 0, edgeId: 'e', siteId: 's', metric: 'water_level', actor: 'edge:e', source: 'edge', ...o,
});

function run(signals: AlarmSignal[], rows: AlarmRow[] = []) {
  const byKey = new Map<string, AlarmRow[]>([[keyOf('threshold', 'd', 'water_level'), rows]]);
  const p = new AlarmPlanner(byKey, 1);
  p.applyAll(signals);
  return { p, rows: byKey.get(keyOf('threshold', 'd', 'water_level'))! };
}

describe('alarm lifecycle decisions', () => {
  it('maps edge events to signals; events without alarm meaning to none', () => {
    const base = { deviceId: 'd', message: '', ts: 5 };
    expect(signalFromEvent({ ...base, kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR, code: 'ph.alarm', metric: 'ph', value: 9.5, threshold: 9 }, { edgeId: 'e', seq: 7, siteId: null }))
      .toMatchObject({ kind: 'threshold', subject: 'ph', action: 'raise', severity: 2, order: 7, actor: 'edge:e', source: 'edge' });
    expect(signalFromEvent({ ...base, kind: EventKind.ALARM_CLEARED, severity: Severity.WARNING, code: 'ph.alarm', metric: 'ph' }, { edgeId: 'e', seq: 8, siteId: null })).toMatchObject({ action: 'clear', severity: 1 });
    expect(signalFromEvent({ ...base, kind: EventKind.DEVICE_OFFLINE, severity: Severity.MAJOR, code: 'timeout' }, { edgeId: 'e', seq: 9, siteId: null })).toMatchObject({ kind: 'device_offline', subject: '', action: 'raise' });
    expect(signalFromEvent({ ...base, kind: EventKind.VIDEO_FAULT_CLEARED, severity: Severity.INFO, code: 'blur' }, { edgeId: 'e', seq: 9, siteId: null })).toMatchObject({ kind: 'video_fault', subject: 'blur', action: 'clear', severity: 0 });
    expect(signalFromEvent({ ...base, kind: EventKind.DATA_QUARANTINED, severity: Severity.WARNING, code: 'quarantine.bad_timestamp' }, { edgeId: 'e', seq: null, siteId: null })).toMatchObject({ kind: 'quarantine', subject: 'bad_timestamp', actor: 'collector', source: 'collector' });
    expect(signalFromEvent({ ...base, kind: EventKind.DATA_GAP, severity: Severity.WARNING, code: 'missed_reports', value: 4, threshold: 3 }, { edgeId: 'e', seq: null, siteId: null })).toMatchObject({ kind: 'data_gap', subject: '', action: 'raise', severity: 1 });
    expect(signalFromEvent({ ...base, kind: EventKind.DATA_GAP, severity: Severity.INFO, code: 'missed_reports.resumed' }, { edgeId: 'e', seq: null, siteId: null })).toMatchObject({ kind: 'data_gap', action: 'clear' });
    expect(signalFromEvent({ ...base, kind: EventKind.DATA_GAP, severity: Severity.WARNING, code: 'sparkplug_seq_gap' }, { edgeId: 'e', seq: 5, siteId: null })).toBeUndefined(); // a one-off, not a condition
    expect(signalFromEvent({ ...base, kind: EventKind.DEVICE_DEGRADED, severity: Severity.WARNING }, { edgeId: 'e', seq: 1, siteId: null })).toBeUndefined();
    expect(signalFromEvent({ ...base, kind: EventKind.ALARM_RAISED, severity: Severity.MAJOR }, { edgeId: 'e', seq: 1, siteId: null })).toBeUndefined(); // no metric: not a threshold
  });

  it('raises, escalates (re-activating an acknowledged alarm), de-escalates and clears one alarm', () => {
    const { p, rows } = run([
      sig({ action: 'raise', ts: 10, severity: 1, code: 'water_level.warning', value: 3.6, threshold: 3.5 }),
      sig({ action: 'raise', ts: 20, severity: 2, code: 'water_level.alarm', value: 4.3, threshold: 4.2 }),
    ]);
    expect(rows).toHaveLength(1);
    p.acknowledge(rows[0]!, 'duty', 'ok', 25);
    expect(rows[0]!.state).toBe('acknowledged');
    p.applyAll([sig({ action: 'raise', ts: 30, severity: 3, code: 'water_level.alarm', value: 5, threshold: 4.2 })]);
    expect(rows[0]).toMatchObject({ state: 'active', severity: 3, peak_severity: 3, peak_value: 5, direction: 'above' });
    p.applyAll([sig({ action: 'clear', ts: 40, severity: 1, code: 'water_level.alarm', value: 4, threshold: 4.2 }), sig({ action: 'clear', ts: 50, value: 3.2 })]);
    expect(rows[0]).toMatchObject({ state: 'cleared', cleared_at: 50, severity: 1, code: 'water_level.warning', threshold: 3.5, peak_value: 5, last_value: 3.2 });
    expect(p.history.map((h) => [h.transition, h.notify])).toEqual([
      ['raised', true], ['escalated', true], ['acknowledged', true], ['escalated', true], ['deescalated', false], ['cleared', true],
    ]);
  });

  it('treats a repeated raise or clear as nothing new, and signals in any order by event time', () => {
    const { p, rows } = run([
      sig({ action: 'raise', ts: 10, code: 'water_level.warning', value: 3.6, threshold: 3.5 }),
      sig({ action: 'raise', ts: 15, code: 'water_level.warning', value: 3.7, threshold: 3.5 }),
      sig({ action: 'clear', ts: 20, value: 3.4 }),
      sig({ action: 'clear', ts: 25, value: 3.3 }),
    ].reverse());
    expect(rows).toHaveLength(1);
    expect(p.history.map((h) => h.transition)).toEqual(['raised', 'cleared']);
    expect(rows[0]).toMatchObject({ raised_at: 10, cleared_at: 20, peak_value: 3.7 });
  });

  it('records below-line alarms with their minimum as the peak', () => {
    const { rows } = run([sig({ action: 'raise', ts: 1, subject: 'water_level', value: 0.4, threshold: 0.5 }), sig({ action: 'raise', ts: 2, value: 0.3, threshold: 0.5, severity: 2 })]);
    expect(rows[0]).toMatchObject({ direction: 'below', peak_value: 0.3 });
  });

  it('files a late raise and clear before every known episode as a past one and notifies nothing of it', () => {
    const { p, rows } = run([sig({ action: 'raise', ts: 100, value: 3.6, threshold: 3.5 })]);
    p.applyAll([sig({ action: 'raise', ts: 40, order: 3, value: 3.8, threshold: 3.5 })]);
    expect(rows.map((r) => [r.state, r.raised_at, r.cleared_at]).sort((x, y) => Number(y[1]) - Number(x[1]))).toEqual([['active', 100, null], ['cleared', 40, null]]);
    p.applyAll([sig({ action: 'clear', ts: 60, order: 4, value: 3.1 })]);
    const past = rows.find((r) => r.raised_at === 40)!;
    expect(past).toMatchObject({ state: 'cleared', cleared_at: 60 });
    expect(rows.find((r) => r.raised_at === 100)!.state).toBe('active');
    expect(p.history.filter((h) => h.alarm === past).map((h) => [h.transition, h.late, h.notify])).toEqual([['raised', true, false], ['cleared', true, false]]);
  });
});

const alarm: Alarm = {
  id: 7, kind: 'threshold', code: 'water_level.alarm', severity: 'major', peakSeverity: 'major', state: 'active', device: 'wl-01', deviceName: '水位计', site: 'dc', siteName: '东村',
  subject: 'water_level', metric: 'water_level', unit: 'm', direction: 'above', threshold: 4.2, value: 4.4, peak: 4.5, raisedAt: 1000, updatedAt: 1000, durationMs: 0, source: 'edge',
};
const pending = (o: Partial<PendingTransition> = {}): PendingTransition => ({ historyId: 1, alarm, transition: 'raised', at: 1000, severity: 'major', value: 4.3, bureaus: ['water'], ...o });
const due = (id: number, o: Partial<DueDelivery> = {}): DueDelivery => ({
  id, bureau: 'water', channel: 'c', lang: 'zh', status: 'queued', attempts: 0, attemptId: null, createdAt: 0, notification: { ...notificationOf(pending({ historyId: id })), at: id } as Notification, ...o,
});

describe('delivery decisions', () => {
  it('builds the notification of a transition as it was (value at the transition, level from the code)', () => {
    expect(notificationOf(pending({ transition: 'acknowledged', at: 2000, actor: 'duty', comment: '收到' }))).toMatchObject({
      transition: 'acknowledged', at: 2000,
      alarm: { id: '7', device: { id: 'wl-01', name: '水位计' }, site: { id: 'dc', name: '东村' }, value: 4.3, peak: 4.5, level: 'alarm', acknowledgedBy: 'duty', ackComment: '收到', acknowledgedAt: 2000 },
    });
    expect(notificationOf(pending({ transition: 'escalated', previousSeverity: 'warning' })).previousSeverity).toBe('warning');
  });

  it('plans one job per channel of the matching rules; other bureaus and unknown channels get none', () => {
    const channels = new Map<string, ChannelConfig>([['a', { id: 'a', type: 'webhook', url: 'http://x/' }], ['b', { id: 'b', type: 'webhook', url: 'http://y/' }]]);
    const unknown: string[] = [];
    const jobs = planJobs([pending(), pending({ historyId: 2, bureaus: ['fire'] }), pending({ historyId: 3, transition: 'deescalated' })], [
      { id: 'r1', bureau: 'water', channels: ['a', 'b'] },
      { id: 'r2', bureau: 'water', channels: ['a', 'gone'] },
    ], channels, 0, (ch) => unknown.push(ch));
    expect(jobs.map((j) => [j.historyId, j.channel, j.rules, j.bureau])).toEqual([[1, 'a', ['r1', 'r2'], 'water'], [1, 'b', ['r1'], 'water']]);
    expect(unknown).toEqual(['gone']);
  });

  const policy = { now: 100_000, digestThreshold: 5, windowMs: 60_000 };

  it('sends singles while the window has room for all, one digest when it has not, and waits when it is full', () => {
    expect(decideMessages([due(1), due(2)], { inWindow: 0, inMinute: 0 }, policy).send.map((m) => m.rows.map((r) => r.id))).toEqual([[1], [2]]);
    const storm = decideMessages(Array.from({ length: 8 }, (_, i) => due(i + 1)), { inWindow: 0, inMinute: 0 }, policy);
    expect(storm.send).toHaveLength(1);
    expect(storm.send[0]).toMatchObject({ digest: true });
    expect(storm.send[0]!.rows).toHaveLength(8);
    const partial = decideMessages([due(1), due(2), due(3)], { inWindow: 3, inMinute: 3 }, policy);
    expect(partial.send).toHaveLength(1);
    expect(partial.send[0]!.rows.map((r) => r.id)).toEqual([1, 2, 3]);
    const full = decideMessages([due(1)], { inWindow: 5, oldestInWindowAt: 70_000, inMinute: 5 }, policy);
    expect(full).toEqual({ send: [], defer: [{ ids: [1], until: 130_000 }] });
  });

  it('keeps bureaus and languages apart, and retries go out as they went before', () => {
    const d = decideMessages([due(1), due(2, { lang: 'en' }), due(3, { bureau: 'fire' }), due(4, { attempts: 1, attemptId: 9 }), due(5, { attempts: 1, attemptId: 9 })], { inWindow: 0, inMinute: 0 }, policy);
    expect(d.send.map((m) => m.rows.map((r) => r.id))).toEqual([[4, 5], [1], [2], [3]]);
  });

  it('caps a robot at its minute budget; the rest waits for a free slot', () => {
    const d = decideMessages([due(1), due(2), due(3)], { inWindow: 0, inMinute: 1, oldestInMinuteAt: 80_000 }, { ...policy, ratePerMinute: 2 });
    expect(d.send.map((m) => m.rows.map((r) => r.id))).toEqual([[1]]);
    expect(d.defer).toEqual([{ ids: [2], until: 140_000 }, { ids: [3], until: 140_000 }]);
  });
});
