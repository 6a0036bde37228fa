// Pure decisions of the notification worker: which channels an alarm transition goes to (the bureau rules, via
// notify's planDeliveries) and, when a channel has deliveries due, what to send now — single messages, one digest
// instead of a storm, or nothing yet (digest window or a robot's minute budget full).
import { digestOrSingles, planDeliveries, type ChannelConfig, type Notification, type NotifyRule } from '../notify/index.js';
import type { ChannelRecent, ClaimDecision, DeliveryJob, DueDelivery, PendingTransition, PlannedMessage } from '../store/index.js';

const NOTIFIABLE = new Set(['raised', 'escalated', 'cleared', 'acknowledged']);

/** The Notification a transition becomes (what channels render), as it was when it happened. */
export function notificationOf(p: PendingTransition): Notification {
  const a = p.alarm;
  const level = a.code?.split('.').pop();
  const n: Notification = {
    type: 'alarm',
    transition: p.transition as Notification['transition'],
    at: p.at,
    alarm: {
      id: String(a.id),
      kind: a.kind,
      severity: p.severity,
      device: a.device ? { id: a.device, ...(a.deviceName ? { name: a.deviceName } : {}) } : { id: a.edge ?? a.subject },
      raisedAt: a.raisedAt,
      ...(a.code ? { code: a.code } : {}),
      ...(a.site ? { site: { id: a.site, ...(a.siteName ? { name: a.siteName } : {}) } } : {}),
      ...(a.metric ? { metric: a.metric } : {}),
      ...(p.value !== undefined ? { value: p.value } : a.value !== undefined ? { value: a.value } : {}),
      ...(a.peak !== undefined ? { peak: a.peak } : {}),
      ...(a.threshold !== undefined ? { threshold: a.threshold } : {}),
      ...(a.direction ? { direction: a.direction } : {}),
      ...(level === 'warning' || level === 'alarm' ? { level } : {}),
      ...(p.transition === 'cleared' ? { clearedAt: p.at } : a.clearedAt !== undefined ? { clearedAt: a.clearedAt } : {}),
      ...(p.transition === 'acknowledged' ? { acknowledgedAt: p.at, ...(p.actor ? { acknowledgedBy: p.actor } : {}), ...(p.comment ? { ackComment: p.comment } : {}) } : {}),
      ...(a.message ? { message: a.message } : {}),
      ...(a.kind === 'edge_offline' && a.edge ? { edgeId: a.edge } : {}),
    },
  };
  if (p.previousSeverity) n.previousSeverity = p.previousSeverity;
  return n;
}

/**
 * The delivery jobs of pending transitions: one per (transition, channel) the bureau rules name. Rules only match
 * transitions of devices shared with their bureau; channels that are not configured are skipped (and reported).
 */
export function planJobs(pending: PendingTransition[], rules: NotifyRule[], channels: ReadonlyMap<string, ChannelConfig>, now: number, onUnknownChannel: (channel: string, rules: string[]) => void = () => undefined): DeliveryJob[] {
  const bureauOf = new Map(rules.map((r) => [r.id, r.bureau]));
  const jobs: DeliveryJob[] = [];
  for (const p of pending) {
    if (!NOTIFIABLE.has(p.transition)) continue;
    const plan = planDeliveries(rules, {
      bureaus: p.bureaus,
      severity: p.severity,
      kind: p.alarm.kind,
      transition: p.transition as Notification['transition'],
      deviceId: p.alarm.device ?? '',
      ...(p.alarm.site ? { siteId: p.alarm.site } : {}),
    }, now);
    if (!plan.length) continue;
    const notification = notificationOf(p);
    for (const d of plan) {
      if (!channels.has(d.channel)) {
        onUnknownChannel(d.channel, d.rules);
        continue;
      }
      jobs.push({
        historyId: p.historyId, alarmId: p.alarm.id, bureau: bureauOf.get(d.rules[0]!) ?? '', channel: d.channel, lang: d.language, rules: d.rules,
        transition: p.transition, notification, deliver: d.deliver, ...(d.reason ? { reason: d.reason } : {}),
      });
    }
  }
  return jobs;
}

export interface MessagePolicy {
  now: number;
  /** More fresh transitions than fit under this many messages per window go out as one digest. */
  digestThreshold: number;
  windowMs: number;
  /** Robots: messages per minute the channel may send (every node's attempts count). */
  ratePerMinute?: number;
}

/**
 * Chooses the messages for a channel's due deliveries. Retries go out as they went before (a digest again as a
 * digest). Fresh transitions (per bureau and language) go out singly while the digest window has room for all of
 * them, else as one digest (digestOrSingles); with the window full they wait for it. A robot's minute budget caps
 * everything; what does not fit waits for a free slot.
 */
export function decideMessages(due: DueDelivery[], recent: ChannelRecent, o: MessagePolicy): ClaimDecision {
  const send: PlannedMessage[] = [];
  const defer: ClaimDecision['defer'] = [];
  let inWindow = recent.inWindow;
  let inMinute = recent.inMinute;
  const minuteFreeAt = (recent.oldestInMinuteAt ?? o.now) + 60_000;
  const windowFreeAt = (recent.oldestInWindowAt ?? o.now) + o.windowMs;
  const rateLeft = () => (o.ratePerMinute === undefined ? Number.POSITIVE_INFINITY : o.ratePerMinute - inMinute);
  const emit = (rows: DueDelivery[]) => {
    send.push({ rows, digest: rows.length > 1 });
    inWindow++;
    inMinute++;
  };
  const retries = new Map<number, DueDelivery[]>();
  const fresh = new Map<string, DueDelivery[]>();
  for (const d of due) {
    if (d.attempts > 0 && d.attemptId !== null) retries.set(d.attemptId, [...(retries.get(d.attemptId) ?? []), d]);
    else fresh.set(`${d.bureau}\u0000${d.lang}`, [...(fresh.get(`${d.bureau}\u0000${d.lang}`) ?? []), d]);
  }
  for (const rows of retries.values()) {
    if (rateLeft() <= 0) defer.push({ ids: rows.map((r) => r.id), until: minuteFreeAt });
    else emit(rows);
  }
  for (const rows of fresh.values()) {
    const budget = o.digestThreshold - inWindow;
    if (budget <= 0 || rateLeft() <= 0) {
      defer.push({ ids: rows.map((r) => r.id), until: rateLeft() <= 0 ? Math.max(minuteFreeAt, budget <= 0 ? windowFreeAt : 0) : windowFreeAt });
      continue;
    }
    const byNotification = new Map(rows.map((r) => [r.notification, r]));
    const planned = digestOrSingles(rows.map((r) => r.notification), budget);
    for (const m of planned) {
      const members = m.type === 'digest' ? m.items.map((n) => byNotification.get(n)!) : [byNotification.get(m)!];
      if (rateLeft() <= 0) defer.push({ ids: members.map((r) => r.id), until: minuteFreeAt });
      else emit(members);
    }
  }
  return { send, defer };
}
