// What a notification channel is given (one alarm transition, or a digest of many) and what it answers (a
// DeliveryResult for the delivery log). The alarm lifecycle builds Notifications; the channels only render and send.
import type { Lang } from '../../core/event-labels.js';

export type { Lang };

export const SEVERITIES = ['info', 'warning', 'major', 'critical'] as const;
export type SeverityName = (typeof SEVERITIES)[number];

/** What an alarm is about. `threshold`: a metric past its warning/alarm line; the rest are conditions of a device, camera or edge. */
export const ALARM_KINDS = ['threshold', 'device_offline', 'video_fault', 'edge_offline', 'data_gap', 'quarantine'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export const TRANSITIONS = ['raised', 'escalated', 'cleared', 'acknowledged'] as const;
export type Transition = (typeof TRANSITIONS)[number];

/** The alarm as a notification describes it (a projection of the collector's alarm object). */
export interface AlarmSummary {
  id: string;
  kind: AlarmKind;
  /** Machine code: `water_level.alarm`, a health reason (`timeout`), a video check (`blur`), … */
  code?: string;
  severity: SeverityName;
  device: { id: string; name?: string };
  site?: { id: string; name?: string };
  /** Catalog metric name (threshold alarms); its Chinese/English name and unit come from schema/metrics.ts. */
  metric?: string;
  /** Last value (threshold alarms: in the metric's canonical unit; video faults: the check's score). */
  value?: number | boolean;
  /** Peak value while the alarm was active. */
  peak?: number;
  threshold?: number;
  /** Which side of the threshold is bad; default above. */
  direction?: 'above' | 'below';
  /** Threshold level (`warning` or `alarm`); taken from the code's suffix when absent. */
  level?: 'warning' | 'alarm';
  raisedAt: number;
  clearedAt?: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  ackComment?: string;
  /** The edge's own message; used when nothing better can be said. */
  message?: string;
  /** Edge id for edge_offline alarms. */
  edgeId?: string;
}

/** One alarm transition to tell people about. */
export interface Notification {
  type: 'alarm';
  transition: Transition;
  /** When the transition happened (ms). */
  at: number;
  alarm: AlarmSummary;
  /** For `escalated`: the severity before. */
  previousSeverity?: SeverityName;
  /** Link shown in the message; absent: the channel's/config's dashboard URL is used. */
  link?: string;
}

/** Many transitions at once (a storm): one message listing them instead of one message each. */
export interface Digest {
  type: 'digest';
  at: number;
  items: Notification[];
  /** Transitions in the storm, when more happened than `items` lists. */
  total?: number;
  link?: string;
}

export type Message = Notification | Digest;

export const CHANNEL_TYPES = ['webhook', 'wecom', 'dingtalk', 'email', 'sms'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** The outcome of one attempt to deliver one message on one channel: a row of the delivery log. */
export interface DeliveryResult {
  channel: string;
  channelType: ChannelType;
  ok: boolean;
  /** sent: accepted by the receiver; failed: not (see error); rate_limited: not attempted, the robot's budget is spent. */
  status: 'sent' | 'failed' | 'rate_limited';
  /** Attempt number given by the caller (the delivery queue), 1 for the first try. */
  attempt: number;
  /** Where it went, without secrets (host and path, e-mail addresses, phone numbers masked). */
  target: string;
  startedAt: number;
  durationMs: number;
  httpStatus?: number;
  /** WeCom/DingTalk answer codes (0 = accepted). */
  errcode?: number;
  errmsg?: string;
  /** SMTP message id. */
  messageId?: string;
  /** Why it failed, in plain words. */
  error?: string;
  /** Whether trying again later may help (network errors, timeouts, 5xx, rate limits) or not (bad key, 4xx, bad config). */
  retryable?: boolean;
  /** The earliest sensible retry, when the receiver or the local rate limit says so. */
  retryAfterMs?: number;
}

export interface SendOptions {
  /** Message language (a rule's `language`); default zh. */
  lang?: Lang;
  /** Attempt number for the result (default 1). */
  attempt?: number;
  signal?: AbortSignal;
}

export interface Channel {
  readonly id: string;
  readonly type: ChannelType;
  send(message: Message, opts?: SendOptions): Promise<DeliveryResult>;
  /** Releases connections (SMTP pool). */
  close(): Promise<void>;
}
