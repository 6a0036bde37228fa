// The store's alarm and notification facets (see types.ts for the rest of the contract). Alarms change inside
// the transaction that committed their cause (alarm-plan.ts); notification jobs are fanned out from the alarm
// history and delivered through a queue that every collector node may work on without sending twice.
import type { AlarmKind, DeliveryResult, Notification, NotifyRule, SeverityName } from '../notify/index.js';
import type { AlarmSignal, AlarmState, AlarmTransition } from './alarm-plan.js';

export type { AlarmSignal, AlarmState, AlarmTransition };

/** An alarm as the API shows it. */
export interface Alarm {
  id: number;
  kind: AlarmKind;
  code?: string;
  severity: SeverityName;
  /** The worst severity it reached. */
  peakSeverity: SeverityName;
  state: AlarmState;
  /** The device (absent for edge alarms). */
  device?: string;
  deviceName?: string;
  edge?: string;
  site?: string;
  siteName?: string;
  /** What within the device: the metric, the video check, the quarantine reason, the edge id. */
  subject: string;
  metric?: string;
  unit?: string;
  direction?: 'above' | 'below';
  /** The line currently crossed, and every line seen for this alarm. */
  threshold?: number;
  thresholds?: { warning?: number; alarm?: number };
  firstValue?: number;
  value?: number;
  valueTs?: number;
  peak?: number;
  message?: string;
  raisedAt: number;
  updatedAt: number;
  clearedAt?: number;
  /** Cleared: how long it lasted; open: how long so far. */
  durationMs: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  ackComment?: string;
  /** edge: raised by an edge event; collector: a condition only the collector sees. */
  source: 'edge' | 'collector';
}

export interface AlarmHistoryEntry {
  ts: number;
  transition: AlarmTransition;
  severity: SeverityName;
  value?: number;
  code?: string;
  actor?: string;
  comment?: string;
  /** Arrived after newer transitions of the same alarm (an edge's backlog): recorded, not applied. */
  late?: boolean;
}

export interface AlarmDetail extends Alarm {
  history: AlarmHistoryEntry[];
}

export interface AlarmQuery {
  /** Restrict to devices shared with this bureau (undefined: admin, all). */
  bureau?: string;
  states?: AlarmState[];
  site?: string;
  device?: string;
  /** Severities to include (indexes 0..3). */
  severities?: number[];
  kinds?: AlarmKind[];
  /** Alarms open at some time in [from, to). */
  from?: number;
  to?: number;
  limit?: number;
  now?: number;
}

export type AckOutcome = { ok: true; alarm: Alarm } | { ok: false; reason: 'not_found' | 'already_acknowledged'; alarm?: Alarm };

export interface AlarmStore {
  list(q: AlarmQuery): Promise<Alarm[]>;
  /** The alarm with its history, if the bureau may see it. */
  get(id: number, bureau?: string): Promise<AlarmDetail | undefined>;
  /** Acknowledges an alarm the bureau may see (once); the transition is recorded and notified like the others. */
  acknowledge(id: number, by: string, comment: string | null, bureau?: string): Promise<AckOutcome>;
  /**
   * Applies signals the collector itself detected (silent edges, quarantine that stopped), in one
   * transaction holding `lockKeys` (the edge locks ingest takes), after `recheck` confirmed them inside it.
   */
  applySignals(signals: AlarmSignal[], opts: { lockKeys: string[]; recheck?: (tx: AlarmRecheck) => Promise<AlarmSignal[]> }): Promise<Alarm[]>;
  /** Open alarms of the given kinds (for the sweeper). */
  open(kinds: AlarmKind[]): Promise<Alarm[]>;
}

/** What a sweeper's re-check may read inside the applying transaction. */
export interface AlarmRecheck {
  edgeState(ids: string[]): Promise<{ edge_id: string; connected: number; status_ts: number | null; last_batch_at: number | null }[]>;
  lastQuarantined(deviceId: string, reason: string): Promise<number | undefined>;
}

// ---- notifications ----

export interface StoredRule {
  rule: NotifyRule;
  /** config: from collector.yaml (re-applied at start); api: created or changed through the API (kept). */
  source: 'config' | 'api';
  updatedAt: number;
  updatedBy?: string;
}

/** A transition waiting to be turned into delivery jobs. */
export interface PendingTransition {
  historyId: number;
  alarm: Alarm;
  transition: AlarmTransition;
  at: number;
  severity: SeverityName;
  previousSeverity?: SeverityName;
  value?: number;
  actor?: string;
  comment?: string;
  /** Bureaus the alarm's device (or, for edge alarms, any of the edge's devices) is shared with. */
  bureaus: string[];
}

/** One delivery job to create: a transition on one channel. */
export interface DeliveryJob {
  historyId: number;
  alarmId: number;
  bureau: string;
  channel: string;
  lang: 'zh' | 'en';
  rules: string[];
  transition: AlarmTransition;
  notification: Notification;
  /** false: held back (quiet hours) — logged, not sent. */
  deliver: boolean;
  reason?: string;
}

export const DELIVERY_STATUSES = ['queued', 'sending', 'retrying', 'sent', 'failed', 'held'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A queued delivery as the worker sees it when claiming. */
export interface DueDelivery {
  id: number;
  bureau: string;
  channel: string;
  lang: 'zh' | 'en';
  status: DeliveryStatus;
  attempts: number;
  /** The attempt this row last went out in (retries of a digest go out together again). */
  attemptId: number | null;
  createdAt: number;
  notification: Notification;
}

/** What the channel has sent lately (every node's attempts): the digest window and the robot's minute budget. */
export interface ChannelRecent {
  inWindow: number;
  oldestInWindowAt?: number;
  inMinute: number;
  oldestInMinuteAt?: number;
}

/** A message the worker decided to send now: one delivery, or a digest of several. */
export interface PlannedMessage {
  rows: DueDelivery[];
  digest: boolean;
}

export interface ClaimDecision {
  send: PlannedMessage[];
  /** Rows that wait (digest window or rate limit), and until when. */
  defer: { ids: number[]; until: number }[];
}

export interface ClaimedMessage extends PlannedMessage {
  attemptId: number;
  attempt: number;
}

export interface DeliveryLogEntry {
  id: number;
  alarmId: number;
  transition: AlarmTransition;
  bureau: string;
  channel: string;
  channelType?: string;
  lang: string;
  rules: string[];
  status: DeliveryStatus;
  reason?: string;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  sentAt?: number;
  nextAt?: number;
  /** The last attempt: where it went, how it ended, how many items went out together (a digest). */
  target?: string;
  httpStatus?: number;
  errcode?: number;
  error?: string;
  items?: number;
  digest?: boolean;
  title?: string;
  device?: string;
  severity?: SeverityName;
}

export interface DeliveryQuery {
  bureau?: string;
  status?: DeliveryStatus[];
  channel?: string;
  alarm?: number;
  from?: number;
  to?: number;
  limit?: number;
}

export interface NotifyStore {
  rules(bureau?: string): Promise<StoredRule[]>;
  rule(id: string): Promise<StoredRule | undefined>;
  putRule(rule: NotifyRule, source: 'config' | 'api', by: string): Promise<{ created: boolean }>;
  removeRule(id: string): Promise<boolean>;
  /**
   * Re-applies the config's rules: new ones are added, config-sourced ones updated or (when gone from the config)
   * removed; rules changed through the API are kept. Returns what happened to each id.
   */
  seedRules(rules: NotifyRule[], by: string): Promise<{ added: string[]; updated: string[]; removed: string[]; keptApi: string[] }>;
  /**
   * Takes up to `limit` transitions waiting for fan-out (rows other nodes are fanning out are skipped), calls
   * `plan` and stores its jobs, marking the transitions done — all in one transaction, so each transition is
   * fanned out exactly once. Returns how many transitions were taken.
   */
  fanOut(plan: (pending: PendingTransition[]) => DeliveryJob[], limit?: number): Promise<number>;
  /** Channels with deliveries due at `now` (queued, retrying, or sending with an expired lease). */
  dueChannels(now: number): Promise<string[]>;
  /**
   * Claims the channel's due deliveries: in one transaction (under the channel's lock) reads them and what the
   * channel sent lately, lets `decide` choose messages, records one attempt per message and leases its rows.
   */
  claim(channel: string, now: number, opts: { leaseMs: number; windowMs: number }, decide: (due: DueDelivery[], recent: ChannelRecent) => ClaimDecision): Promise<ClaimedMessage[]>;
  /** Records how an attempt ended: rows sent, to retry at `retryAt`, or failed for good. */
  finish(message: ClaimedMessage, result: DeliveryResult, retryAt: number | undefined): Promise<void>;
  /** Marks rows as failed without an attempt (their channel is no longer configured). */
  fail(ids: number[], reason: string): Promise<void>;
  deliveries(q: DeliveryQuery): Promise<DeliveryLogEntry[]>;
  /** Deletes delivery rows and attempts older than `before`. */
  prune(before: number): Promise<number>;
}
