// Notification rules and the durable delivery queue on SQL, shared by both engines.
//
// - Fan-out: alarm transitions (alarm_history rows with notify = 0, written in the transaction that made them)
//   become one delivery row per channel in one transaction that also marks them done; on PostgreSQL the rows are
//   taken FOR UPDATE SKIP LOCKED, so nodes fan out different transitions, and UNIQUE (history_id, channel) makes a
//   second fan-out of one transition impossible anyway.
// - Claim: a channel's due rows are read and leased under the channel's advisory lock (plus SKIP LOCKED), together
//   with what the channel sent lately (notify_attempts, every node's), so the digest window and a robot's minute
//   budget hold across the cluster. Sending happens outside any transaction; a node that dies mid-send leaves a
//   lease that expires, and another node sends again (receivers get the same X-Yiwang-Delivery id).
import type { NotifyRule } from '../../notify/config.js';
import type { DeliveryResult, Notification } from '../../notify/types.js';
import type { AlarmRow, AlarmTransition } from '../alarm-plan.js';
import type {
  ChannelRecent, ClaimDecision, ClaimedMessage, DeliveryJob, DeliveryLogEntry, DeliveryQuery, DeliveryStatus, DueDelivery, NotifyStore, PendingTransition, StoredRule,
} from '../alarm-types.js';
import { namesOf, toAlarm, unionScope } from './alarms.js';
import type { Column, Sql, SqlDb, SqlValue } from './driver.js';
import { SEVERITY_NAMES } from './events.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const skipLocked = (tx: Sql) => (tx.dialect.name === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '');
const sev = (n: number) => SEVERITY_NAMES[n] ?? 'info';

const DELIVERY_COLUMNS: Column[] = [
  { name: 'history_id', type: 'bigint' }, { name: 'alarm_id', type: 'bigint' }, { name: 'bureau', type: 'text' }, { name: 'channel', type: 'text' },
  { name: 'lang', type: 'text' }, { name: 'rules', type: 'text' }, { name: 'transition', type: 'text' }, { name: 'payload', type: 'text' },
  { name: 'status', type: 'text' }, { name: 'reason', type: 'text' }, { name: 'next_at', type: 'bigint' }, { name: 'created_at', type: 'bigint' },
  { name: 'updated_at', type: 'bigint' },
];

interface RuleRow {
  id: string;
  bureau: string;
  rule: string;
  source: 'config' | 'api';
  updated_at: number;
  updated_by: string | null;
}

const toStored = (r: RuleRow): StoredRule => ({ rule: JSON.parse(r.rule) as NotifyRule, source: r.source, updatedAt: Number(r.updated_at), ...(r.updated_by ? { updatedBy: r.updated_by } : {}) });

interface DeliveryRow {
  id: number;
  history_id: number;
  alarm_id: number;
  bureau: string;
  channel: string;
  lang: string;
  rules: string;
  transition: string;
  payload: string;
  status: DeliveryStatus;
  reason: string | null;
  attempts: number;
  next_at: number;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  attempt_id: number | null;
}

const toDue = (r: DeliveryRow): DueDelivery => ({
  id: Number(r.id),
  bureau: r.bureau,
  channel: r.channel,
  lang: r.lang === 'en' ? 'en' : 'zh',
  status: r.status,
  attempts: r.attempts,
  attemptId: r.attempt_id === null ? null : Number(r.attempt_id),
  createdAt: Number(r.created_at),
  notification: JSON.parse(r.payload) as Notification,
});

export class SqlNotify implements NotifyStore {
  constructor(private readonly db: SqlDb) {}

  async rules(bureau?: string): Promise<StoredRule[]> {
    const rows = bureau === undefined
      ? await this.db.all<RuleRow>('SELECT * FROM notify_rules ORDER BY id')
      : await this.db.all<RuleRow>('SELECT * FROM notify_rules WHERE bureau = $1 ORDER BY id', [bureau]);
    return rows.map(toStored);
  }

  async rule(id: string): Promise<StoredRule | undefined> {
    const r = await this.db.get<RuleRow>('SELECT * FROM notify_rules WHERE id = $1', [id]);
    return r ? toStored(r) : undefined;
  }

  async putRule(rule: NotifyRule, source: 'config' | 'api', by: string): Promise<{ created: boolean }> {
    return this.db.tx(async (tx) => {
      const exists = await tx.get('SELECT 1 AS x FROM notify_rules WHERE id = $1', [rule.id]);
      await tx.run(
        `INSERT INTO notify_rules (id, bureau, rule, source, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET bureau = excluded.bureau, rule = excluded.rule, source = excluded.source, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [rule.id, rule.bureau, JSON.stringify(rule), source, Date.now(), by],
      );
      return { created: !exists };
    });
  }

  async removeRule(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM notify_rules WHERE id = $1', [id])).changes > 0;
  }

  async seedRules(rules: NotifyRule[], by: string): Promise<{ added: string[]; updated: string[]; removed: string[]; keptApi: string[] }> {
    return this.db.tx(async (tx) => {
      const out = { added: [] as string[], updated: [] as string[], removed: [] as string[], keptApi: [] as string[] };
      const current = new Map((await tx.all<RuleRow>('SELECT * FROM notify_rules')).map((r) => [r.id, r]));
      const now = Date.now();
      for (const rule of rules) {
        const cur = current.get(rule.id);
        const body = JSON.stringify(rule);
        if (cur?.source === 'api') {
          out.keptApi.push(rule.id);
          continue;
        }
        if (cur && cur.rule === body && cur.bureau === rule.bureau) continue;
        await tx.run(
          `INSERT INTO notify_rules (id, bureau, rule, source, updated_at, updated_by) VALUES ($1, $2, $3, 'config', $4, $5)
           ON CONFLICT (id) DO UPDATE SET bureau = excluded.bureau, rule = excluded.rule, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          [rule.id, rule.bureau, body, now, by],
        );
        (cur ? out.updated : out.added).push(rule.id);
      }
      const wanted = new Set(rules.map((r) => r.id));
      for (const r of current.values()) {
        if (r.source === 'config' && !wanted.has(r.id)) {
          await tx.run('DELETE FROM notify_rules WHERE id = $1', [r.id]);
          out.removed.push(r.id);
        }
      }
      return out;
    });
  }

  async fanOut(plan: (pending: PendingTransition[]) => DeliveryJob[], limit = 200): Promise<number> {
    return this.db.tx(async (tx) => {
      const hist = await tx.all<{ id: number; alarm_id: number; ts: number; transition: string; severity: number; value: number | null; actor: string | null; comment: string | null }>(
        `SELECT id, alarm_id, ts, transition, severity, value, actor, comment FROM alarm_history WHERE notify = 0 ORDER BY id LIMIT $1${skipLocked(tx)}`,
        [limit],
      );
      if (!hist.length) return 0;
      const alarmIds = [...new Set(hist.map((h) => Number(h.alarm_id)))].sort((a, b) => a - b);
      const alarms = new Map(
        (await tx.allForRows<AlarmRow>([{ name: 'id', type: 'bigint' }], alarmIds.map((id) => [id]), 'SELECT a.* FROM alarms a JOIN u ON a.id = u.id')).map((a) => [Number(a.id), { ...a, id: Number(a.id) }]),
      );
      const deviceIds = [...new Set([...alarms.values()].map((a) => a.device_id).filter(Boolean))].sort(cmp);
      const devices = new Map(
        (await tx.allForRows<{ id: string; scope: string; name: string | null; record: string }>([{ name: 'id', type: 'text' }], deviceIds.map((id) => [id]), 'SELECT d.id, d.scope, d.name, d.record FROM devices d JOIN u ON d.id = u.id')).map((d) => [d.id, d]),
      );
      const edgeIds = [...new Set([...alarms.values()].filter((a) => !a.device_id && a.edge_id).map((a) => a.edge_id!))].sort(cmp);
      const edgeScopes = new Map<string, string>();
      for (const e of await tx.allForRows<{ edge_id: string; scope: string }>([{ name: 'edge_id', type: 'text' }], edgeIds.map((id) => [id]), 'SELECT d.edge_id, d.scope FROM devices d JOIN u ON d.edge_id = u.edge_id')) {
        edgeScopes.set(e.edge_id, unionScope(edgeScopes.get(e.edge_id) ?? ',', e.scope));
      }
      const pending: PendingTransition[] = [];
      for (const h of hist) {
        const a = alarms.get(Number(h.alarm_id));
        if (!a) continue;
        const d = a.device_id ? devices.get(a.device_id) : undefined;
        const scope = a.device_id ? (d?.scope ?? ',') : (edgeScopes.get(a.edge_id ?? '') ?? ',');
        let previousSeverity: PendingTransition['previousSeverity'];
        if (h.transition === 'escalated') {
          const prev = await tx.get<{ severity: number }>('SELECT severity FROM alarm_history WHERE alarm_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1', [h.alarm_id, h.id]);
          if (prev) previousSeverity = sev(prev.severity);
        }
        pending.push({
          historyId: Number(h.id),
          alarm: toAlarm(a, namesOf(d)),
          transition: h.transition as AlarmTransition,
          at: Number(h.ts),
          severity: sev(h.severity),
          ...(previousSeverity ? { previousSeverity } : {}),
          ...(h.value !== null ? { value: h.value } : {}),
          ...(h.actor ? { actor: h.actor } : {}),
          ...(h.comment ? { comment: h.comment } : {}),
          bureaus: scope.split(',').filter(Boolean),
        });
      }
      const jobs = plan(pending);
      const now = Date.now();
      await tx.insertMany(
        'notify_deliveries',
        DELIVERY_COLUMNS,
        jobs
          .sort((x, y) => x.historyId - y.historyId || cmp(x.channel, y.channel))
          .map((j) => [j.historyId, j.alarmId, j.bureau, j.channel, j.lang, JSON.stringify(j.rules), j.transition, JSON.stringify(j.notification), j.deliver ? 'queued' : 'held', j.reason ?? null, now, now, now]),
        'ON CONFLICT (history_id, channel) DO NOTHING',
      );
      await tx.runForRows([{ name: 'id', type: 'bigint' }], hist.map((h) => [h.id]), 'UPDATE alarm_history AS t SET notify = 1 FROM u WHERE t.id = u.id');
      return hist.length;
    });
  }

  async dueChannels(now: number): Promise<string[]> {
    const rows = await this.db.all<{ channel: string }>(
      `SELECT DISTINCT channel FROM notify_deliveries
       WHERE (status IN ('queued', 'retrying') AND next_at <= $1) OR (status = 'sending' AND lease_until <= $1) ORDER BY channel`,
      [now],
    );
    return rows.map((r) => r.channel);
  }

  async claim(channel: string, now: number, opts: { leaseMs: number; windowMs: number }, decide: (due: DueDelivery[], recent: ChannelRecent) => ClaimDecision): Promise<ClaimedMessage[]> {
    return this.db.tx(async (tx) => {
      const rows = await tx.all<DeliveryRow>(
        `SELECT * FROM notify_deliveries WHERE channel = $1 AND ((status IN ('queued', 'retrying') AND next_at <= $2) OR (status = 'sending' AND lease_until <= $2))
         ORDER BY id LIMIT 500${skipLocked(tx)}`,
        [channel, now],
      );
      if (!rows.length) return [];
      const windowStart = now - opts.windowMs;
      const minuteStart = now - 60_000;
      // The digest window counts messages that reached (or are reaching) people; the robot's budget every request.
      const w = await tx.get<{ n: number; oldest: number | null }>("SELECT count(*) AS n, min(at) AS oldest FROM notify_attempts WHERE channel = $1 AND at > $2 AND status IN ('sent', 'sending')", [channel, windowStart]);
      const m = await tx.get<{ n: number; oldest: number | null }>('SELECT count(*) AS n, min(at) AS oldest FROM notify_attempts WHERE channel = $1 AND at > $2', [channel, minuteStart]);
      const recent: ChannelRecent = { inWindow: Number(w?.n ?? 0), inMinute: Number(m?.n ?? 0) };
      if (w?.oldest != null) recent.oldestInWindowAt = Number(w.oldest);
      if (m?.oldest != null) recent.oldestInMinuteAt = Number(m.oldest);
      const decision = decide(rows.map(toDue), recent);
      const claimed: ClaimedMessage[] = [];
      for (const msg of decision.send) {
        const attempt = Math.max(...msg.rows.map((r) => r.attempts)) + 1;
        const [a] = await tx.insertManyReturning<{ id: number }>(
          'notify_attempts',
          [{ name: 'channel', type: 'text' }, { name: 'bureau', type: 'text' }, { name: 'at', type: 'bigint' }, { name: 'items', type: 'int' }, { name: 'digest', type: 'int' }, { name: 'attempt', type: 'int' }, { name: 'status', type: 'text' }],
          [[channel, msg.rows[0]!.bureau, now, msg.rows.length, msg.digest ? 1 : 0, attempt, 'sending']],
          'RETURNING id',
        );
        const attemptId = Number(a!.id);
        await tx.runForRows(
          [{ name: 'id', type: 'bigint' }],
          msg.rows.map((r) => [r.id]).sort((x, y) => Number(x[0]) - Number(y[0])),
          `UPDATE notify_deliveries AS t SET status = 'sending', attempts = t.attempts + 1, lease_until = ${now + opts.leaseMs}, attempt_id = ${attemptId}, updated_at = ${now}
           FROM u WHERE t.id = u.id`,
        );
        claimed.push({ ...msg, attemptId, attempt });
      }
      for (const d of decision.defer) {
        await tx.runForRows(
          [{ name: 'id', type: 'bigint' }],
          [...d.ids].sort((x, y) => x - y).map((id) => [id]),
          `UPDATE notify_deliveries AS t SET next_at = ${Math.round(d.until)}, status = CASE WHEN t.status = 'sending' THEN 'retrying' ELSE t.status END, updated_at = ${now}
           FROM u WHERE t.id = u.id`,
        );
      }
      return claimed;
    }, { lockKeys: [`notify:${channel}`] });
  }

  async finish(message: ClaimedMessage, result: DeliveryResult, retryAt: number | undefined): Promise<void> {
    const now = Date.now();
    const status: DeliveryStatus = result.ok ? 'sent' : retryAt !== undefined ? 'retrying' : 'failed';
    await this.db.tx(async (tx) => {
      await tx.run(
        `UPDATE notify_attempts SET status = $2, target = $3, http_status = $4, errcode = $5, error = $6, duration_ms = $7, message_id = $8 WHERE id = $1`,
        [message.attemptId, result.status === 'rate_limited' ? 'rate_limited' : result.ok ? 'sent' : 'failed', result.target, result.httpStatus ?? null, result.errcode ?? null, result.error ?? null, result.durationMs, result.messageId ?? null],
      );
      // Only rows still leased to this attempt: if the lease ran out and another node took them, its result counts.
      await tx.run(
        `UPDATE notify_deliveries SET status = $2, reason = $3, next_at = coalesce($4, next_at), sent_at = $5, lease_until = NULL, updated_at = $6
         WHERE attempt_id = $1 AND status = 'sending'`,
        [message.attemptId, status, result.ok ? null : (result.error ?? result.status).slice(0, 2000), retryAt === undefined ? null : Math.round(retryAt), result.ok ? now : null, now],
      );
    });
  }

  async fail(ids: number[], reason: string): Promise<void> {
    const now = Date.now();
    await this.db.tx(async (tx) => {
      for (const id of [...ids].sort((a, b) => a - b)) {
        await tx.run("UPDATE notify_deliveries SET status = 'failed', reason = $2, lease_until = NULL, updated_at = $3 WHERE id = $1", [id, reason, now]);
      }
    });
  }

  async deliveries(q: DeliveryQuery): Promise<DeliveryLogEntry[]> {
    const params: SqlValue[] = [];
    const p = (v: SqlValue) => (params.push(v), `$${params.length}`);
    const where: string[] = ['TRUE'];
    if (q.bureau !== undefined) where.push(`d.bureau = ${p(q.bureau)}`);
    if (q.status?.length) where.push(`d.status IN (${q.status.map(p).join(', ')})`);
    if (q.channel) where.push(`d.channel = ${p(q.channel)}`);
    if (q.alarm !== undefined) where.push(`d.alarm_id = ${p(q.alarm)}`);
    if (q.from !== undefined) where.push(`d.created_at >= ${p(q.from)}`);
    if (q.to !== undefined) where.push(`d.created_at < ${p(q.to)}`);
    const rows = await this.db.all<DeliveryRow & { t_target: string | null; t_http: number | null; t_errcode: number | null; t_error: string | null; t_items: number | null; t_digest: number | null }>(
      `SELECT d.*, t.target AS t_target, t.http_status AS t_http, t.errcode AS t_errcode, t.error AS t_error, t.items AS t_items, t.digest AS t_digest
       FROM notify_deliveries d LEFT JOIN notify_attempts t ON t.id = d.attempt_id
       WHERE ${where.join(' AND ')} ORDER BY d.id DESC LIMIT ${p(q.limit ?? 500)}`,
      params,
    );
    return rows.map((r) => {
      const n = JSON.parse(r.payload) as Notification;
      const e: DeliveryLogEntry = {
        id: Number(r.id),
        alarmId: Number(r.alarm_id),
        transition: r.transition as AlarmTransition,
        bureau: r.bureau,
        channel: r.channel,
        lang: r.lang,
        rules: JSON.parse(r.rules) as string[],
        status: r.status,
        attempts: r.attempts,
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
        device: n.alarm?.device.id,
        severity: n.alarm?.severity,
      };
      if (r.reason) e.reason = r.reason;
      if (r.sent_at !== null) e.sentAt = Number(r.sent_at);
      if (r.status === 'queued' || r.status === 'retrying') e.nextAt = Number(r.next_at);
      if (r.t_target) e.target = r.t_target;
      if (r.t_http !== null) e.httpStatus = r.t_http;
      if (r.t_errcode !== null) e.errcode = r.t_errcode;
      if (r.t_error) e.error = r.t_error;
      if (r.t_items !== null) (e.items = r.t_items), (e.digest = r.t_digest === 1);
      return e;
    });
  }

  async prune(before: number): Promise<number> {
    const a = await this.db.run("DELETE FROM notify_deliveries WHERE created_at < $1 AND status IN ('sent', 'failed', 'held')", [before]);
    const b = await this.db.run('DELETE FROM notify_attempts WHERE at < $1', [before]);
    return a.changes + b.changes;
  }
}
