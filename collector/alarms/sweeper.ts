// Conditions only the collector can see, checked every `alarms.sweepIntervalS`:
// - edge_offline: an edge disconnected for edgeOfflineAfterS (its retained status / last will), or connected but
//   sending nothing for edgeSilentAfterS. One alarm per edge (its devices' silence is part of it, not N alarms).
// - quarantine alarms clear after quarantineClearAfterS without a new quarantined item of their reason.
// (A device whose scheduled reports stopped is a data_gap alarm, raised and cleared by bureau analytics'
// missed-report events — collector/analytics/missed.ts — in the transaction that writes them.)
// Every node of a cluster runs the sweep; each change is applied in a transaction holding the edge's lock (the one
// ingest takes) after the condition is checked again inside it, and an alarm key has at most one open alarm, so
// nodes sweeping at the same time never raise an alarm twice.
import type { Logger } from '../../core/log.js';
import type { DeviceRecord } from '../../schema/types.js';
import type { AlarmRecheck, AlarmSignal, CollectorStore, EdgeInfo } from '../store/index.js';
import type { AlarmsConfig } from './config.js';

const MAJOR = 2;

interface EdgeFacts {
  id: string;
  connected: boolean;
  statusTs?: number;
  lastBatchAt?: number;
}

/** When the edge went quiet, if it counts as offline at `now` (undefined: it is up). */
export function edgeOfflineSince(e: EdgeFacts, cfg: AlarmsConfig, now: number): number | undefined {
  if (e.lastBatchAt === undefined) return undefined; // never sent anything: nothing to miss yet
  if (!e.connected) {
    const since = Math.max(e.statusTs ?? 0, e.lastBatchAt);
    if (now - since >= cfg.edgeOfflineAfterS * 1000) return since;
  }
  if (now - e.lastBatchAt >= cfg.edgeSilentAfterS * 1000) return e.lastBatchAt;
  return undefined;
}

const edgeFacts = (e: EdgeInfo): EdgeFacts => ({ id: e.id, connected: e.connected, statusTs: e.statusTs, lastBatchAt: e.lastBatchAt });

export class AlarmSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: CollectorStore,
    private readonly cfg: AlarmsConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.cfg.sweepIntervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass (concurrent calls share it). */
  sweep(): Promise<void> {
    this.running ??= this.pass()
      .catch((err: Error) => this.log.error({ err: err.message }, 'alarm sweep failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.now();
    const [edges, devices, open] = await Promise.all([
      this.store.edges.list(),
      this.store.registry.list({}),
      this.store.alarms.open(['edge_offline', 'quarantine']),
    ]);
    const isOpen = new Set(open.map((a) => `${a.kind}\u0000${a.device ?? ''}\u0000${a.subject}`));
    const devicesOf = new Map<string, DeviceRecord[]>();
    for (const d of devices) if (d.edgeId) devicesOf.set(d.edgeId, [...(devicesOf.get(d.edgeId) ?? []), d]);
    const byEdge = new Map<string, AlarmSignal[]>();
    const add = (edge: string, s: AlarmSignal) => byEdge.set(edge, [...(byEdge.get(edge) ?? []), s]);

    for (const e of edges) {
      const mine = devicesOf.get(e.id) ?? [];
      if (!mine.length) continue;
      const since = edgeOfflineSince(edgeFacts(e), this.cfg, now);
      const key = `edge_offline\u0000\u0000${e.id}`;
      if (since !== undefined && !isOpen.has(key)) add(e.id, this.edgeSignal(e.id, mine, 'raise', since));
      else if (since === undefined && isOpen.has(key)) add(e.id, this.edgeSignal(e.id, mine, 'clear', e.lastBatchAt ?? now));
    }
    for (const a of open.filter((x) => x.kind === 'quarantine' && x.device)) {
      const [last] = await this.store.quarantine.list({ device: a.device, reason: a.subject, limit: 1 });
      if (last && now - last.receivedAt < this.cfg.quarantineClearAfterS * 1000) continue;
      add(a.edge ?? '', { kind: 'quarantine', deviceId: a.device!, subject: a.subject, action: 'clear', severity: 0, ts: now, order: 0, edgeId: a.edge ?? null, siteId: a.site ?? null, actor: 'collector', source: 'collector' });
    }

    for (const [edge, signals] of byEdge) {
      try {
        const applied = await this.store.alarms.applySignals(signals, { lockKeys: edge ? [`edge:${edge}`] : [], recheck: (tx) => this.recheck(tx, signals, now) });
        for (const a of applied) this.log.info({ alarm: a.id, kind: a.kind, device: a.device, edge: a.edge, state: a.state }, 'alarm changed (collector condition)');
      } catch (err) {
        this.log.error({ edge, err: (err as Error).message }, 'alarm sweep: could not apply');
      }
    }
  }

  private edgeSignal(edgeId: string, devices: DeviceRecord[], action: 'raise' | 'clear', ts: number): AlarmSignal {
    const site = devices.find((d) => d.site?.id)?.site?.id ?? null;
    return {
      kind: 'edge_offline', deviceId: '', subject: edgeId, action, severity: action === 'raise' ? MAJOR : 0, ts, order: 0, edgeId, siteId: site,
      code: 'edge_offline', message: action === 'raise' ? `edge ${edgeId} silent since ${new Date(ts).toISOString()} (${devices.length} device(s))` : undefined,
      actor: 'collector', source: 'collector',
    };
  }

  /** The same conditions on the rows as they are inside the applying transaction (another node or ingest may have moved on). */
  private async recheck(tx: AlarmRecheck, signals: AlarmSignal[], now: number): Promise<AlarmSignal[]> {
    const edgeIds = signals.filter((s) => s.kind === 'edge_offline').map((s) => s.subject);
    const edges = new Map((await tx.edgeState(edgeIds)).map((e) => [e.edge_id, e]));
    const out: AlarmSignal[] = [];
    for (const s of signals) {
      if (s.kind === 'edge_offline') {
        const e = edges.get(s.subject);
        if (!e) continue;
        const since = edgeOfflineSince({ id: s.subject, connected: e.connected === 1, statusTs: e.status_ts ?? undefined, lastBatchAt: e.last_batch_at ?? undefined }, this.cfg, now);
        if ((s.action === 'raise') === (since !== undefined)) out.push(s);
      } else if (s.kind === 'quarantine') {
        const last = await tx.lastQuarantined(s.deviceId, s.subject);
        if (last === undefined || now - last >= this.cfg.quarantineClearAfterS * 1000) out.push(s);
      }
    }
    return out;
  }
}
