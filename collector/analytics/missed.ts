// Missed reports in a row: a station whose primary schedule (hourly data, its report or poll interval) has gone
// unanswered for N intervals while it may well be sending other data (real-time values keep it "online"). Raised
// as a DATA_GAP event with code `missed_reports` (severity warning) and cleared by one with code
// `missed_reports.resumed` (severity info) when reports arrive again — stored, shown and fed live like every
// event. The alarm lifecycle (collector/alarms, when merged) can turn the pair into a `data_gap` alarm.
//
// Every collector node may run the check: the run's row in missed_runs makes sure one node raises it once.
import type { Logger } from '../../core/log.js';
import { EventKind, Severity, type DeviceRecord } from '../../schema/types.js';
import type { CollectorStore } from '../store/index.js';
import { cellPlan, cellStart, schedulesFor, type CellPlan } from './completeness.js';
import { CHINA_OFFSET_MS, HOUR_MS } from '../../core/china-time.js';

export const MISSED_CODE = 'missed_reports';
export const RESUMED_CODE = 'missed_reports.resumed';

export interface MissedOptions {
  /** Reports missed in a row before the event (default 3). */
  missedReports: number;
  /** How often the check runs (default 60 s). */
  checkIntervalS: number;
}

export const DEFAULT_MISSED: MissedOptions = { missedReports: 3, checkIntervalS: 60 };

/**
 * The run of missed reports at the end: how many expected reports are missing since the last one that arrived,
 * counted back from the newest due cell (at most `maxCells`), and where the run began. Data in a cell that is
 * not due yet ends any run (the station is reporting again).
 */
export function trailingMissed(plan: CellPlan, arrivals: Map<number, number>, since: number | undefined, now: number, maxCells: number): { missed: number; from?: number } {
  const grace = Math.min(plan.intervalMs, HOUR_MS);
  const lastDue = cellStart(now - grace - plan.cellMs, plan.cellMs);
  for (const [cell, n] of arrivals) if (cell > lastDue && n > 0) return { missed: 0 };
  let missed = 0;
  let from: number | undefined;
  for (let i = 0, c = lastDue; i < maxCells; i++, c -= plan.cellMs) {
    if (since !== undefined && c + plan.cellMs <= since) break;
    const got = Math.min(arrivals.get(c) ?? 0, plan.slotsPerCell);
    if (got >= plan.slotsPerCell) break;
    missed += plan.slotsPerCell - got;
    from = c;
    if (got > 0) break; // the run began inside this cell
  }
  return { missed, from };
}

/** Checks every scheduled device now and then; raises and clears missed-report events. */
export class MissedReportWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: CollectorStore,
    private readonly opts: MissedOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.opts.checkIntervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass (concurrent calls share it). */
  check(): Promise<void> {
    this.running ??= this.pass()
      .catch((err: Error) => this.log.error({ err: err.message }, 'missed-report check failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.now();
    const devices = (await this.store.registry.list({})).filter((d) => d.lifecycle !== 'removed' && d.lifecycle !== 'under_repair');
    const open = new Map((await this.store.analytics.openMissedRuns()).map((r) => [`${r.device}\u0000${r.schedule}`, r]));
    const firsts = await this.store.analytics.firstData(devices.map((d) => d.id));
    for (const d of devices) {
      for (const s of schedulesFor(d)) {
        try {
          await this.checkOne(d, s.name, s.intervalMs, s.periodS ?? 0, firsts.get(d.id), open.has(`${d.id}\u0000${s.name}`), now);
        } catch (err) {
          this.log.error({ device: d.id, err: (err as Error).message }, 'missed-report check failed for a device');
        }
      }
    }
  }

  private async checkOne(d: DeviceRecord, schedule: string, intervalMs: number, periodS: number, first: number | undefined, isOpen: boolean, now: number): Promise<void> {
    if (first === undefined) return; // never reported: nothing to miss yet (a device that never came up is an install problem)
    const n = this.opts.missedReports;
    const plan = cellPlan(intervalMs, 'day', true);
    const scan = async (cells: number) => {
      const from = cellStart(now - (cells + 1) * plan.cellMs - Math.min(intervalMs, HOUR_MS), plan.cellMs);
      const rows = await this.store.analytics.arrivals({ devices: [d.id], from, to: now + 1, periodS, resolution: plan.resolution, cellMs: plan.cellMs, offsetMs: CHINA_OFFSET_MS });
      return trailingMissed(plan, new Map(rows.map((r) => [r.cell, r.count])), first, now, cells);
    };
    // Cheap check first: cells enough for a run of n reports plus the one before it.
    let run = await scan(Math.ceil(((n + 1) * intervalMs) / plan.cellMs) + 1);
    // Raising (rare): look further back for where the run really began (at most a week).
    if (run.missed >= n && !isOpen) run = await scan(Math.min(10_000, Math.ceil((7 * 86_400_000) / plan.cellMs)));
    const every = Math.round(intervalMs / 1000);
    if (run.missed >= n && !isOpen) {
      const e = await this.store.analytics.raiseMissedRun(
        { device: d.id, schedule, since: run.from!, raisedAt: now },
        {
          deviceId: d.id, kind: EventKind.DATA_GAP, severity: Severity.WARNING, ts: now, code: MISSED_CODE, metric: '', value: run.missed, threshold: n,
          message: `${run.missed} ${schedule} reports missed in a row since ${new Date(run.from!).toISOString()} (expected every ${every} s)`,
        },
      );
      if (e) this.log.warn({ device: d.id, schedule, missed: run.missed }, 'missed reports');
    } else if (run.missed === 0 && isOpen) {
      const e = await this.store.analytics.clearMissedRun(d.id, schedule, {
        deviceId: d.id, kind: EventKind.DATA_GAP, severity: Severity.INFO, ts: now, code: RESUMED_CODE, metric: '',
        message: `${schedule} reports arriving again (expected every ${every} s)`,
      });
      if (e) this.log.info({ device: d.id, schedule }, 'reports resumed');
    }
  }
}
