// The notification worker. Every `alarms.deliveryPollMs` (and when woken): fan out new alarm transitions into
// delivery rows (the bureau rules stored in the database decide the channels), then, per channel with work due,
// claim its deliveries, send them (singly or as one digest), and record every attempt. Failed sends are retried
// with backoff (nextRetryDelay) until they succeed or fail for good; everything lands in the delivery log. Runs
// on every collector node: the store's claims make sure a delivery goes out from one node at a time.
import type { Logger } from '../../core/log.js';
import { ProblemLog } from '../../core/problem-log.js';
import { DEFAULT_RETRY, nextRetryDelay, type Channel, type ChannelConfig, type Digest, type NotifyConfig } from '../notify/index.js';
import type { CollectorMetrics } from '../metrics.js';
import type { ClaimedMessage, CollectorStore } from '../store/index.js';
import type { AlarmsConfig } from './config.js';
import { decideMessages, planJobs } from './delivery-plan.js';

export class Notifier {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly problems: ProblemLog;
  private readonly configs: Map<string, ChannelConfig>;
  private readonly sent;

  constructor(
    private readonly store: CollectorStore,
    private readonly notify: NotifyConfig | undefined,
    private readonly channels: ReadonlyMap<string, Channel>,
    private readonly cfg: AlarmsConfig,
    private readonly log: Logger,
    metrics?: CollectorMetrics,
  ) {
    this.problems = new ProblemLog(log);
    this.configs = new Map((notify?.channels ?? []).map((c) => [c.id, c]));
    this.sent = metrics?.counter('yiwang_collector_notifications_total', 'Notification attempts by channel and outcome (sent, failed, rate_limited)');
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.cfg.deliveryPollMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs a pass now (or right after the one in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.runOnce();
        } catch (err) {
          this.problems.report('notify', 'pass_failed', 'notification pass failed', { err: (err as Error).message });
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    for (const ch of this.channels.values()) await ch.close().catch(() => undefined);
  }

  /** Resolves when no pass is running (tests). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** One pass: fan out all waiting transitions, then work every channel with deliveries due. */
  async runOnce(now = Date.now()): Promise<void> {
    const rules = (await this.store.notify.rules()).map((r) => r.rule);
    for (;;) {
      const taken = await this.store.notify.fanOut((pending) =>
        planJobs(pending, rules, this.configs, now, (channel, ruleIds) =>
          this.problems.report(channel, 'unknown_channel', 'a notification rule names a channel that is not configured', { channel, rules: ruleIds })),
      );
      if (taken < 200) break;
    }
    const due = await this.store.notify.dueChannels(Date.now());
    await Promise.all(due.map((channel) => this.work(channel)));
  }

  private async work(channelId: string): Promise<void> {
    const channel = this.channels.get(channelId);
    const cfg = this.configs.get(channelId);
    const now = Date.now();
    const digest = this.notify?.digest;
    const claimed = await this.store.notify.claim(channelId, now, { leaseMs: this.cfg.deliveryLeaseS * 1000, windowMs: (digest?.windowS ?? 60) * 1000 }, (due, recent) => {
      if (!channel) return { send: [], defer: [] };
      const ratePerMinute = cfg && (cfg.type === 'wecom' || cfg.type === 'dingtalk') ? (cfg.ratePerMinute ?? 20) : undefined;
      return decideMessages(due, recent, { now, digestThreshold: digest?.threshold ?? 5, windowMs: (digest?.windowS ?? 60) * 1000, ratePerMinute });
    });
    if (!channel) {
      // Rows for a channel that is gone from the config: fail them with the reason instead of keeping them forever.
      const ids = (await this.store.notify.deliveries({ channel: channelId, status: ['queued', 'retrying', 'sending'], limit: 10_000 })).map((d) => d.id);
      if (ids.length) await this.store.notify.fail(ids, `channel ${channelId} is not configured`);
      return;
    }
    for (const m of claimed) await this.send(channel, m);
  }

  private async send(channel: Channel, m: ClaimedMessage): Promise<void> {
    const items = m.rows.map((r) => r.notification);
    const message: Digest | (typeof items)[number] = m.digest ? { type: 'digest', at: Math.max(...items.map((n) => n.at)), items, total: items.length } : items[0]!;
    const result = await channel.send(message, { lang: m.rows[0]!.lang, attempt: m.attempt });
    const delay = nextRetryDelay(result, { ...DEFAULT_RETRY, baseDelayMs: this.cfg.retryBaseMs, maxDelayMs: this.cfg.retryMaxMs, maxAttempts: this.cfg.retryAttempts });
    await this.store.notify.finish(m, result, delay === undefined ? undefined : Date.now() + delay);
    this.sent?.inc({ channel: channel.id, status: result.status });
    if (!result.ok) {
      this.problems.report(channel.id, `delivery_${result.status}`, 'notification not delivered', {
        channel: channel.id, attempt: m.attempt, items: m.rows.length, error: result.error, retry: delay !== undefined ? `in ${Math.round(delay / 1000)} s` : 'no',
      });
    }
  }
}
